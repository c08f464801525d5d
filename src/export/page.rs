//! What every HTML page of qpsbench shares: the style, escaping, the document head with its
//! Content-Security-Policy, and the interactive charts, drawn in the browser by uPlot (vendored
//! in `vendor/`, inlined: a report is one file that opens offline and fetches nothing).
//!
//! A chart is data, not markup: [`Charts::place`] writes an empty `<div>` where the chart goes
//! and [`Charts::scripts`] writes, once at the end of the page, every chart's series as one JSON
//! block (`<script type="application/json">`, never run) followed by uPlot and `charts.js`,
//! which draw them. The policy lets exactly those two scripts run, by their SHA-256 hashes; a
//! string from a server or the command line is escaped wherever it appears and could not run
//! even if it were not.

use std::fmt::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::report::Report;
use crate::stats::rows::SecondReport;

/// The uPlot release inlined into every page (`vendor/README.md`).
pub const UPLOT_VERSION: &str = "1.6.32";
const UPLOT_JS: &str = include_str!("vendor/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("vendor/uPlot.min.css");
const CHARTS_JS: &str = include_str!("charts.js");

/// The pages' own style (uPlot's follows it).
pub(crate) const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;\
margin:20px 24px;color:#222;background:#f6f7f9}\
h1{font-size:22px;margin:0 0 4px;overflow-wrap:anywhere}h2{font-size:17px;margin:28px 0 8px}\
.sub{color:#555;margin-bottom:16px;overflow-wrap:anywhere}\
.cards{display:flex;flex-wrap:wrap;gap:10px}\
.card{background:#fff;border:1px solid #dde;border-radius:6px;padding:10px 14px;min-width:120px}\
.card b{display:block;font-size:20px;white-space:nowrap}.card span{color:#666;font-size:12px}\
.warn{background:#fff4d6;border:1px solid #e8c04a;padding:8px 12px;border-radius:6px;margin:12px 0}\
.chart{background:#fff;border:1px solid #dde;border-radius:6px;margin:10px 0;padding:8px 0 4px;\
position:relative;min-height:60px}\
.chart .u-title{font-size:15px;font-weight:600;text-align:left;padding-left:16px}\
.chart .u-legend{font-size:12px}.chart .u-legend .u-value{font-variant-numeric:tabular-nums}\
.tip{position:absolute;z-index:10;pointer-events:none;background:rgba(255,255,255,.96);\
border:1px solid #99a;border-radius:4px;padding:4px 8px;font-size:12px;white-space:nowrap;\
box-shadow:0 1px 4px rgba(0,0,0,.15);font-variant-numeric:tabular-nums}\
.tip b{display:block}.tip i{display:inline-block;width:10px;height:3px;margin:0 5px 3px 0}\
.hint{color:#666;font-size:12px;margin:2px 0 8px}\
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0;display:block;\
overflow-x:auto;max-width:100%;width:max-content}\
th,td{border:1px solid #dde;padding:4px 8px;text-align:right;white-space:nowrap}\
th{background:#eef0f4}td.l,th.l{text-align:left}\
td.v{white-space:normal;overflow-wrap:anywhere;min-width:12em;max-width:60em}\
td.v pre{white-space:pre-wrap;margin:0}\
.defs dt{font-weight:600}.defs dd{margin:0 0 6px 16px;color:#444}";

/// Escape text for HTML (element content and quoted attributes).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A card's value in milliseconds, or `-` when nothing was measured.
pub fn ms_card(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.3} ms"))
}

/// `'sha256-…'` of a script's text, as a Content-Security-Policy source (CSP level 2).
fn script_hash(script: &str) -> String {
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()))
    )
}

/// The policy: nothing fetched, inline style, and only uPlot and `charts.js` run.
fn policy() -> &'static str {
    static POLICY: OnceLock<String> = OnceLock::new();
    POLICY.get_or_init(|| {
        format!(
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src {} {}",
            script_hash(UPLOT_JS),
            script_hash(CHARTS_JS)
        )
    })
}

/// The document from `<!DOCTYPE html>` to the opening `<body>`; `title` is escaped here.
pub fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style><style>{UPLOT_CSS}</style></head><body>\n",
        policy(),
        esc(title)
    )
}

/// What a chart's x values are.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum XAxis {
    /// Seconds since the start (the end of each window). Every time chart of a page shares
    /// one cursor and one zoom.
    Time,
    /// Percentiles on a "nines" axis: x = -log10(1 - q), so 1 is 90 %, 2 is 99 %, 3 is 99.9 %.
    Nines,
    /// Any other quantity, named with its unit (`achieved QPS`, `req/s`).
    Values { label: String, unit: &'static str },
}

/// Which y axis a series is measured on, and how that axis is drawn.
#[derive(Debug, Clone, Serialize)]
pub struct Axis {
    /// The scale's key, named by the series that use it.
    pub scale: &'static str,
    /// The axis label, with its unit (`latency (ms)`).
    pub label: String,
    /// Ticks on whole numbers only (users, counts).
    pub integer: bool,
    /// The axis starts at 0 (rates, counts); otherwise it spans the visible data with a margin
    /// (latencies that vary between 620 and 710 ms fill the chart).
    pub from_zero: bool,
    /// Drawn on the right.
    pub right: bool,
}

impl Axis {
    /// A left axis from 0.
    pub fn left(scale: &'static str, label: impl Into<String>) -> Self {
        Axis {
            scale,
            label: label.into(),
            integer: false,
            from_zero: true,
            right: false,
        }
    }
}

/// One line of a chart: a value (or `null`, a gap) per x.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub name: String,
    /// Shown after every value in the legend and the tooltip (`ms`, `req/s`).
    pub unit: &'static str,
    pub color: &'static str,
    /// Decimals shown.
    pub decimals: u8,
    pub dashed: bool,
    /// Line width in CSS pixels.
    pub width: f64,
    /// The [`Axis::scale`] it is measured on.
    pub scale: &'static str,
    /// Drawn as steps: each value holds over the window that ends at its x (users).
    pub stepped: bool,
    pub values: Vec<Option<f64>>,
}

impl Series {
    /// A solid 2 px line on `scale`.
    pub fn new(
        name: impl Into<String>,
        unit: &'static str,
        color: &'static str,
        scale: &'static str,
        values: Vec<Option<f64>>,
    ) -> Self {
        Series {
            name: name.into(),
            unit,
            color,
            decimals: if unit == "ms" { 3 } else { 1 },
            dashed: false,
            width: 2.0,
            scale,
            stepped: false,
            values: values.into_iter().map(|v| v.map(round3)).collect(),
        }
    }

    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    pub fn stepped(mut self) -> Self {
        self.stepped = true;
        self
    }

    pub fn width(mut self, width: f64) -> Self {
        self.width = width;
        self
    }

    pub fn decimals(mut self, decimals: u8) -> Self {
        self.decimals = decimals;
        self
    }
}

fn round3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

/// A chart: the element `id`, a title, its x values and its lines.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub x: XAxis,
    pub xs: Vec<f64>,
    pub axes: Vec<Axis>,
    pub series: Vec<Series>,
}

/// End of each window in seconds since the start (the last may be partial).
pub fn window_end(s: &SecondReport) -> f64 {
    (s.second - 1) as f64 + s.interval_s
}

/// The x of every time chart: the end of each window, seconds since the start.
pub fn time_xs(r: &Report) -> Vec<f64> {
    r.seconds.iter().map(window_end).collect()
}

/// A time chart with one left axis from 0.
pub fn time_chart(
    r: &Report,
    id: &'static str,
    title: &str,
    axes: Vec<Axis>,
    series: Vec<Series>,
) -> Chart {
    Chart {
        id,
        title: title.into(),
        x: XAxis::Time,
        xs: time_xs(r),
        axes,
        series,
    }
}

/// An axis for latencies: it spans the data rather than start at 0.
pub fn ms_axis(label: &str) -> Axis {
    Axis {
        from_zero: false,
        ..Axis::left("ms", label)
    }
}

/// The charts of one page, in the order they are placed.
#[derive(Default)]
pub struct Charts {
    list: Vec<Chart>,
}

impl Charts {
    /// Write the chart's place on the page (drawn there by `charts.js`).
    pub fn place(&mut self, h: &mut String, chart: Chart) {
        let _ = writeln!(
            h,
            "<div class=\"chart\" id=\"{}\" role=\"img\" aria-label=\"{}\" data-chart=\"{}\">\
             <noscript><p>{}: the charts need JavaScript; the tables below have the figures.\
             </p></noscript></div>",
            chart.id,
            esc(&chart.title),
            self.list.len(),
            esc(&chart.title)
        );
        self.list.push(chart);
    }

    /// True when no chart was placed.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The charts' data and the two scripts that draw them; empty when there is no chart.
    pub fn scripts(&self) -> String {
        if self.list.is_empty() {
            return String::new();
        }
        let json = serde_json::to_string(&self.list).unwrap_or_else(|_| "[]".into());
        format!(
            "<script type=\"application/json\" id=\"qpsbench-charts\">{}</script>\n\
             <script>{UPLOT_JS}</script>\n<script>{CHARTS_JS}</script>\n",
            json_in_html(&json)
        )
    }
}

/// JSON made safe inside a `<script>` element: `<`, `>` and `&` (which JSON has only inside
/// strings) become `\u003c`, `\u003e`, `\u0026`, so no `</script>` or `<!--` can close or
/// bend the element; the JSON means the same.
fn json_in_html(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The hint under a page's first time chart.
pub const ZOOM_HINT: &str = "<p class=\"hint\">Drag across a chart to zoom every time chart to \
those seconds; double-click to zoom back out. The cursor is shared: each chart's legend shows \
its values at that second.</p>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    /// A series name that tries to close the data block stays inside it and parses back.
    #[test]
    fn chart_data_cannot_close_its_script_element() {
        let mut charts = Charts::default();
        let mut h = String::new();
        charts.place(
            &mut h,
            Chart {
                id: "chart-t",
                title: "</script><script>alert(1)</script>".into(),
                x: XAxis::Time,
                xs: vec![1.0, 2.0],
                axes: vec![Axis::left("y", "y")],
                series: vec![Series::new(
                    "<!-- & </script>",
                    "ms",
                    "#000",
                    "y",
                    vec![Some(1.23456), None],
                )],
            },
        );
        assert!(!h.contains("<script>alert"), "{h}");
        let s = charts.scripts();
        let data = &s[s.find('>').unwrap() + 1..s.find("</script>").unwrap()];
        assert!(!data.contains('<') && !data.contains('>'));
        let v: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(v[0]["series"][0]["name"], "<!-- & </script>");
        assert_eq!(v[0]["series"][0]["values"][0], 1.235);
        assert!(v[0]["series"][0]["values"][1].is_null());
        // Exactly three script elements: the data, uPlot, charts.js.
        assert_eq!(s.matches("<script").count(), 3);
    }

    /// The policy's hashes are those of the scripts as written into the page (an edit to
    /// charts.js that the policy did not follow would leave the page without charts).
    #[test]
    fn the_policy_names_each_script_by_its_hash() {
        let page = format!("{}{}", head("t"), {
            let mut c = Charts::default();
            c.place(
                &mut String::new(),
                Chart {
                    id: "chart-t",
                    title: "t".into(),
                    x: XAxis::Nines,
                    xs: vec![0.0],
                    axes: vec![],
                    series: vec![],
                },
            );
            c.scripts()
        });
        for script in page.split("<script>").skip(1) {
            let body = &script[..script.find("</script>").unwrap()];
            let digest = Sha256::digest(body.as_bytes());
            let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
            assert!(page.contains(&format!("'sha256-{b64}'")), "{b64}");
        }
        assert!(UPLOT_JS.contains(UPLOT_VERSION));
    }
}
