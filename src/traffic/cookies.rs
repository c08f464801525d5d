//! `--cookies`: a user's own cookie jar. What a server sets (`Set-Cookie`) is kept by the
//! `cookie_store` crate, which applies RFC 6265's domain, path, expiry and `Secure` rules, and
//! sent back (`Cookie`) on the same user's later requests. Never shared between users.

use cookie_store::{CookieStore, RawCookie};
use ureq::http::header::SET_COOKIE;
use ureq::http::{HeaderMap, HeaderValue, Uri};
use url::Url;

/// One user's cookies.
#[derive(Debug, Default)]
pub struct Jar {
    store: CookieStore,
}

impl Jar {
    /// An empty jar.
    pub fn new() -> Self {
        Jar::default()
    }

    /// The `Cookie` header for a request to `uri` (`a=1; b=2`), or `None` when no cookie of
    /// the jar applies to it.
    pub fn header_for(&self, uri: &Uri) -> Option<HeaderValue> {
        let url = Url::parse(&uri.to_string()).ok()?;
        let pairs: Vec<String> = self
            .store
            .get_request_values(&url)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        if pairs.is_empty() {
            return None;
        }
        HeaderValue::from_str(&pairs.join("; ")).ok()
    }

    /// Keep the cookies a response from `uri` sets; malformed ones are ignored, as browsers do.
    pub fn keep(&mut self, uri: &Uri, headers: &HeaderMap) {
        if !headers.contains_key(SET_COOKIE) {
            return;
        }
        let Ok(url) = Url::parse(&uri.to_string()) else {
            return;
        };
        let cookies = headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| RawCookie::parse(v.to_string()).ok());
        self.store.store_response_cookies(cookies, &url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(jar: &mut Jar, url: &str, cookies: &[&str]) {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(SET_COOKIE, HeaderValue::from_str(c).unwrap());
        }
        jar.keep(&url.parse().unwrap(), &h);
    }

    fn cookie(jar: &Jar, url: &str) -> Option<String> {
        jar.header_for(&url.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn cookies_come_back_where_they_apply() {
        let mut jar = Jar::new();
        assert_eq!(cookie(&jar, "http://127.0.0.1:8080/"), None);
        set(
            &mut jar,
            "http://127.0.0.1:8080/login",
            &["sid=abc; Path=/", "cart=1; Path=/shop", "bad cookie"],
        );
        assert_eq!(
            cookie(&jar, "http://127.0.0.1:8080/").as_deref(),
            Some("sid=abc")
        );
        let shop = cookie(&jar, "http://127.0.0.1:8080/shop/x").unwrap();
        assert!(
            shop.contains("sid=abc") && shop.contains("cart=1"),
            "{shop}"
        );
        // A new value replaces the old; Max-Age=0 deletes.
        set(&mut jar, "http://127.0.0.1:8080/", &["sid=def; Path=/"]);
        assert_eq!(
            cookie(&jar, "http://127.0.0.1:8080/").as_deref(),
            Some("sid=def")
        );
        set(
            &mut jar,
            "http://127.0.0.1:8080/",
            &["sid=x; Path=/; Max-Age=0"],
        );
        assert_eq!(cookie(&jar, "http://127.0.0.1:8080/"), None);
        // Secure cookies only over https (loopback counts as secure, as in browsers; no request
        // is sent here). Another host gets none.
        set(&mut jar, "https://example.test/", &["s=1; Secure; Path=/"]);
        assert_eq!(cookie(&jar, "http://example.test/"), None);
        assert_eq!(
            cookie(&jar, "https://example.test/").as_deref(),
            Some("s=1")
        );
        assert_eq!(cookie(&jar, "https://other.test/"), None);
    }
}
