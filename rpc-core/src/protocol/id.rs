//! The request id: a number, a string or null, echoed exactly as it arrived.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};
use serde_json::value::RawValue;

/// A JSON-RPC request id.
///
/// Numbers keep the text they arrived as, so `1.5`, `-0` or
/// `18446744073709551617` are echoed back byte for byte instead of being
/// rounded through a float or an integer type.
///
/// # Examples
///
/// ```
/// use wirecall::Id;
///
/// let id: Id = serde_json::from_str("18446744073709551617").unwrap();
/// assert_eq!(serde_json::to_string(&id).unwrap(), "18446744073709551617");
/// assert_eq!(Id::from(7u64).as_u64(), Some(7));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    /// `null`: allowed by the spec, and the id of errors whose request id is unknown.
    Null,
    /// A number, kept as its original JSON text.
    Number(Box<str>),
    /// A string.
    String(Box<str>),
}

impl Id {
    /// The id as an unsigned integer, when it is a plain non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Id::Number(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// Reads an id from the raw JSON text of an `id` member.
    ///
    /// # Errors
    ///
    /// Returns an error when the value is not a number, a string or null.
    pub fn from_raw(raw: &RawValue) -> Result<Id, IdError> {
        let text = raw.get();
        match text.as_bytes().first() {
            Some(b'n') => Ok(Id::Null),
            Some(b'-' | b'0'..=b'9') => Ok(Id::Number(text.into())),
            Some(b'"') => serde_json::from_str::<String>(text)
                .map(|s| Id::String(s.into()))
                .map_err(|_| IdError),
            _ => Err(IdError),
        }
    }

    /// Appends the id's JSON text to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        match self {
            Id::Null => out.push_str("null"),
            Id::Number(text) => out.push_str(text),
            Id::String(text) => super::json_string::push_json_string(out, text),
        }
    }
}

impl From<u64> for Id {
    fn from(n: u64) -> Id {
        Id::Number(n.to_string().into())
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Id {
        Id::String(s.into())
    }
}

impl From<String> for Id {
    fn from(s: String) -> Id {
        Id::String(s.into())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.write_json(&mut text);
        f.write_str(&text)
    }
}

/// The error of an `id` member that is neither a number, a string nor null.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("id must be a number, a string or null")]
pub struct IdError;

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Null => serializer.serialize_unit(),
            Id::String(text) => serializer.serialize_str(text),
            Id::Number(text) => RawValue::from_string(text.to_string())
                .map_err(serde::ser::Error::custom)?
                .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <Box<RawValue>>::deserialize(deserializer)?;
        Id::from_raw(&raw).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        let id: Id = serde_json::from_str(text).unwrap();
        serde_json::to_string(&id).unwrap()
    }

    #[test]
    fn numbers_keep_their_text() {
        for text in ["1", "1.5", "-0", "18446744073709551617", "1e3", "0.10"] {
            assert_eq!(round_trip(text), text);
        }
    }

    #[test]
    fn strings_and_null_round_trip() {
        assert_eq!(round_trip(r#""abc""#), r#""abc""#);
        assert_eq!(round_trip(r#""a\"b""#), r#""a\"b""#);
        assert_eq!(round_trip("null"), "null");
    }

    #[test]
    fn other_types_are_rejected() {
        for text in ["true", "[1]", "{}"] {
            assert!(serde_json::from_str::<Id>(text).is_err(), "{text}");
        }
    }

    #[test]
    fn integer_view() {
        assert_eq!(Id::from(42).as_u64(), Some(42));
        assert_eq!(Id::from("42").as_u64(), None);
        assert_eq!(Id::Number("1.5".into()).as_u64(), None);
    }
}
