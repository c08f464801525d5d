//! Dotted JSON paths (`choices.0.delta.content`) read from an event's data without building
//! a JSON tree.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A dotted path into JSON, like `choices.0.delta.content` or `a.b`: each segment is an object
/// key, or (when it is a number) an array index. There is no escaping: keys containing `.`
/// cannot be named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    key: String,
    index: Option<usize>,
}

/// A path that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonPathError {
    #[error("empty content path")]
    Empty,
    #[error(
        "empty segment in path {0:?} (use keys separated by single dots, like choices.0.delta.content)"
    )]
    EmptySegment(String),
    #[error("path {0:?} is too deep (at most 32 segments)")]
    TooDeep(String),
}

impl JsonPath {
    /// Parse `a.b.0.c`.
    ///
    /// # Errors
    ///
    /// [`JsonPathError::Empty`] for an empty path, [`JsonPathError::EmptySegment`] for a leading,
    /// trailing or doubled dot, [`JsonPathError::TooDeep`] for more than 32 segments.
    pub fn parse(path: &str) -> Result<JsonPath, JsonPathError> {
        if path.is_empty() {
            return Err(JsonPathError::Empty);
        }
        let segments: Vec<Segment> = path
            .split('.')
            .map(|s| {
                if s.is_empty() {
                    Err(JsonPathError::EmptySegment(path.to_string()))
                } else {
                    Ok(Segment {
                        key: s.to_string(),
                        index: if s.bytes().all(|b| b.is_ascii_digit()) {
                            s.parse().ok()
                        } else {
                            None
                        },
                    })
                }
            })
            .collect::<Result<_, _>>()?;
        if segments.len() > 32 {
            return Err(JsonPathError::TooDeep(path.to_string()));
        }
        Ok(JsonPath { segments })
    }
}

impl JsonPath {
    /// The value at this path in a parsed JSON tree; `None` when a key or index is absent.
    pub fn lookup<'v>(&self, mut value: &'v serde_json::Value) -> Option<&'v serde_json::Value> {
        for s in &self.segments {
            value = match (value, s.index) {
                (serde_json::Value::Array(a), Some(i)) => a.get(i)?,
                (serde_json::Value::Object(o), _) => o.get(&s.key)?,
                _ => return None,
            };
        }
        Some(value)
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&s.key)?;
        }
        Ok(())
    }
}

/// Follow `path` in the JSON `data` and read the leaf; `Ok(None)` when the path is absent
/// or the leaf has another type, `Err` when `data` is not JSON.
pub(super) fn walk<L: Leaf>(data: &[u8], path: &JsonPath, leaf: L) -> Result<Option<L::Value>, ()> {
    let mut de = serde_json::Deserializer::from_slice(data);
    let value = Walk {
        path: &path.segments,
        leaf,
    }
    .deserialize(&mut de)
    .map_err(|_| ())?;
    de.end().map_err(|_| ())?;
    Ok(value)
}

/// What to read at the end of a path (any other type reads as `None`).
pub(super) trait Leaf: Copy {
    type Value;
    fn string(self, _s: &str) -> Option<Self::Value> {
        None
    }
    fn unsigned(self, _n: u64) -> Option<Self::Value> {
        None
    }
}

/// The string itself (owned: the leaf does not outlive the event).
#[derive(Clone, Copy)]
pub(super) struct StrLeaf;

impl Leaf for StrLeaf {
    type Value = String;
    fn string(self, s: &str) -> Option<String> {
        Some(s.to_string())
    }
}

#[derive(Clone, Copy)]
pub(super) struct U64Leaf;

impl Leaf for U64Leaf {
    type Value = u64;
    fn unsigned(self, n: u64) -> Option<u64> {
        Some(n)
    }
}

/// A visitor that accepts any JSON value: the leaf reads strings/integers, everything else is
/// skipped and reads as `None`.
pub(super) struct LenientVisitor<L>(pub(super) L);

impl<'de, L: Leaf> Visitor<'de> for LenientVisitor<L> {
    type Value = Option<L::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.string(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.0.unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(u64::try_from(v).ok().and_then(|v| self.0.unsigned(v)))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

struct Walk<'p, L> {
    path: &'p [Segment],
    leaf: L,
}

impl<'de, L: Leaf> DeserializeSeed<'de> for Walk<'_, L> {
    type Value = Option<L::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        match self.path.split_first() {
            None => d.deserialize_any(LenientVisitor(self.leaf)),
            Some((segment, rest)) => d.deserialize_any(WalkVisitor {
                segment,
                rest,
                leaf: self.leaf,
            }),
        }
    }
}

struct WalkVisitor<'p, L> {
    segment: &'p Segment,
    rest: &'p [Segment],
    leaf: L,
}

impl<'de, L: Leaf> Visitor<'de> for WalkVisitor<'_, L> {
    type Value = Option<L::Value>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(is_ours) = map.next_key_seed(KeyIs(&self.segment.key))? {
            if is_ours && found.is_none() {
                found = Some(map.next_value_seed(Walk {
                    path: self.rest,
                    leaf: self.leaf,
                })?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found.flatten())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut i = 0usize;
        loop {
            if Some(i) == self.segment.index {
                match seq.next_element_seed(Walk {
                    path: self.rest,
                    leaf: self.leaf,
                })? {
                    Some(v) => found = v,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }
    // Scalars where a container was expected: the path is absent.
    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// A map key compared with a path segment without being kept.
struct KeyIs<'p>(&'p str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(v == self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parsing() {
        assert_eq!(
            JsonPath::parse("choices.0.delta.content")
                .unwrap()
                .to_string(),
            "choices.0.delta.content"
        );
        assert_eq!(JsonPath::parse(""), Err(JsonPathError::Empty));
        assert!(matches!(
            JsonPath::parse("a..b"),
            Err(JsonPathError::EmptySegment(_))
        ));
        assert!(matches!(
            JsonPath::parse(".a"),
            Err(JsonPathError::EmptySegment(_))
        ));
        assert!(matches!(
            JsonPath::parse("a."),
            Err(JsonPathError::EmptySegment(_))
        ));
        assert!(matches!(
            JsonPath::parse("a.".repeat(40).trim_end_matches('.')),
            Err(JsonPathError::TooDeep(_))
        ));
        // A huge index is a key only.
        let p = JsonPath::parse("99999999999999999999999").unwrap();
        assert_eq!(p.segments[0].index, None);
    }
}
