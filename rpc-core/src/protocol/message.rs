//! Classifying incoming frames: calls, notifications, responses, batches and
//! the errors the spec asks for when a frame is none of these.

use std::borrow::Cow;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::error::Category;
use serde_json::value::RawValue;

use super::{ErrorObject, Id};

/// A call that expects a response.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// The id to echo in the response.
    pub id: Id,
    /// The method name.
    pub method: Cow<'a, str>,
    /// The params, still raw JSON (an array or an object), if any.
    pub params: Option<&'a RawValue>,
}

/// A call without an id: executed, never answered.
#[derive(Debug, Clone)]
pub struct Notification<'a> {
    /// The method name.
    pub method: Cow<'a, str>,
    /// The params, still raw JSON (an array or an object), if any.
    pub params: Option<&'a RawValue>,
}

/// A response to a call this end made.
#[derive(Debug, Clone)]
pub struct Response<'a> {
    /// The id of the call it answers.
    pub id: Id,
    /// The raw `result`, or the `error` object.
    pub outcome: Result<&'a RawValue, ErrorObject>,
}

/// One JSON value of an incoming frame, classified.
#[derive(Debug, Clone)]
pub enum Incoming<'a> {
    /// A call that expects a response.
    Request(Request<'a>),
    /// A call that must not be answered.
    Notification(Notification<'a>),
    /// A response to one of this end's calls.
    Response(Response<'a>),
    /// Something that must be answered with `error`, under `id` (null when the
    /// id could not be read).
    Invalid {
        /// The id to answer under.
        id: Id,
        /// The error to answer with.
        error: ErrorObject,
    },
    /// A malformed response: it cannot be answered (that would answer an
    /// answer), so it is logged and dropped.
    BadResponse {
        /// Why it was refused.
        reason: &'static str,
    },
}

/// An incoming frame: one value or a batch of them.
#[derive(Debug, Clone)]
pub enum Message<'a> {
    /// A single object (or a frame-level error to answer with one object).
    Single(Incoming<'a>),
    /// A non-empty array of values, each classified on its own.
    Batch(Vec<Incoming<'a>>),
}

impl<'a> Message<'a> {
    /// Classifies one frame exactly as the JSON-RPC 2.0 spec describes.
    ///
    /// Invalid JSON becomes a single -32700 error, an empty batch a single
    /// -32600 error, and every batch element is judged on its own. Params and
    /// results stay borrowed raw JSON.
    ///
    /// # Examples
    ///
    /// ```
    /// use wirecall::protocol::{Incoming, Message};
    ///
    /// let frame = r#"{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":"a"}"#;
    /// let Message::Single(Incoming::Request(call)) = Message::parse(frame) else { panic!() };
    /// assert_eq!(call.method, "sum");
    /// assert_eq!(call.params.unwrap().get(), "[1,2]");
    /// ```
    pub fn parse(frame: &'a str) -> Message<'a> {
        let trimmed = frame.trim_start_matches([' ', '\t', '\n', '\r']);
        if trimmed.starts_with('[') {
            return parse_batch(frame);
        }
        match serde_json::from_str::<Fields<'a>>(frame) {
            Ok(fields) => Message::Single(fields.classify()),
            Err(err) => Message::Single(shape_error(frame, &err)),
        }
    }
}

fn parse_batch(frame: &str) -> Message<'_> {
    // The common case in one pass: every element is an object.
    if let Ok(objects) = serde_json::from_str::<Vec<Object<'_>>>(frame) {
        if !objects.is_empty() {
            return Message::Batch(objects.into_iter().map(|o| o.0.classify()).collect());
        }
    }
    // Otherwise each element is judged on its own.
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(frame) else {
        return Message::Single(parse_error());
    };
    if items.is_empty() {
        return Message::Single(Incoming::Invalid {
            id: Id::Null,
            error: ErrorObject::invalid_request("empty batch"),
        });
    }
    Message::Batch(items.into_iter().map(classify_element).collect())
}

fn classify_element(raw: &RawValue) -> Incoming<'_> {
    if !raw.get().starts_with('{') {
        return invalid(None, "a batch element must be an object");
    }
    match serde_json::from_str::<Fields<'_>>(raw.get()) {
        Ok(fields) => fields.classify(),
        Err(_) => invalid(None, "malformed request object"),
    }
}

/// Tells a frame that is not JSON (-32700) from JSON of the wrong shape (-32600).
fn shape_error(frame: &str, err: &serde_json::Error) -> Incoming<'static> {
    match err.classify() {
        Category::Data if serde_json::from_str::<IgnoredAny>(frame).is_ok() => {
            invalid(None, "expected a request object")
        }
        _ => parse_error(),
    }
}

fn parse_error() -> Incoming<'static> {
    Incoming::Invalid {
        id: Id::Null,
        error: ErrorObject::parse_error(),
    }
}

fn invalid(id: Option<Id>, detail: &str) -> Incoming<'static> {
    Incoming::Invalid {
        id: id.unwrap_or(Id::Null),
        error: ErrorObject::invalid_request(detail),
    }
}

/// Every member the spec knows, kept raw so that a wrong type is reported by
/// us (with the right code) rather than by serde.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    method: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    params: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    result: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
}

/// [`Fields`] read from a JSON object only: serde would also fill a struct
/// from an array, and a batch element that is an array must be refused.
struct Object<'a>(Fields<'a>);

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct OnlyMaps;
        impl<'de> Visitor<'de> for OnlyMaps {
            type Value = Object<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a request object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<'de>, A::Error> {
                Fields::deserialize(MapAccessDeserializer::new(map)).map(Object)
            }
        }
        de.deserialize_map(OnlyMaps)
    }
}

/// Keeps `null` apart from an absent member (plain `Option` would merge them).
fn present<'de, D: Deserializer<'de>>(de: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(de).map(Some)
}

impl<'a> Fields<'a> {
    fn classify(self) -> Incoming<'a> {
        let id = match self.id.map(Id::from_raw) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => return invalid(None, "`id` must be a number, a string or null"),
        };
        if self.method.is_none() && (self.result.is_some() || self.error.is_some()) {
            return self.classify_response(id);
        }
        if !self.jsonrpc.is_some_and(is_version_2) {
            return invalid(id, "`jsonrpc` must be exactly \"2.0\"");
        }
        let Some(method) = self.method else {
            return invalid(id, "missing `method`");
        };
        let Some(method) = decode_str(method) else {
            return invalid(id, "`method` must be a string");
        };
        if let Some(params) = self.params {
            if !matches!(params.get().as_bytes().first(), Some(b'[' | b'{')) {
                return invalid(id, "`params` must be an array or an object");
            }
            if nested_deeper_than(params.get(), MAX_DEPTH) {
                return parse_error();
            }
        }
        let params = self.params;
        match id {
            Some(id) => Incoming::Request(Request { id, method, params }),
            None => Incoming::Notification(Notification { method, params }),
        }
    }

    fn classify_response(self, id: Option<Id>) -> Incoming<'a> {
        let bad = |reason| Incoming::BadResponse { reason };
        if !self.jsonrpc.is_some_and(is_version_2) {
            return bad("response without `\"jsonrpc\": \"2.0\"`");
        }
        let Some(id) = id else {
            return bad("response without `id`");
        };
        let outcome = match (self.result, self.error) {
            (Some(result), None) => Ok(result),
            (None, Some(error)) => match serde_json::from_str::<ErrorObject>(error.get()) {
                Ok(error) => Err(error),
                Err(_) => return bad("response with a malformed `error` object"),
            },
            _ => return bad("response with both `result` and `error`"),
        };
        Incoming::Response(Response { id, outcome })
    }
}

/// The nesting `serde_json` accepts when decoding; deeper params could never
/// decode, so they are refused up front as unparseable.
const MAX_DEPTH: usize = 128;

/// Whether arrays/objects in `json` (known to be valid) nest deeper than `limit`.
fn nested_deeper_than(json: &str, limit: usize) -> bool {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in json.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            b']' | b'}' => depth -= 1,
            _ => {}
        }
    }
    false
}

fn is_version_2(raw: &RawValue) -> bool {
    decode_str(raw).is_some_and(|version| version == "2.0")
}

/// A JSON string's value, borrowed when it has no escapes.
fn decode_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
