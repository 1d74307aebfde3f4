//! The error object of a response and its codes.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A JSON-RPC error code.
///
/// The spec reserves -32768 to -32000: five codes are named, -32099 to -32000
/// is left to servers, and everything outside the reserved range belongs to
/// applications.
///
/// # Examples
///
/// ```
/// use wirecall::ErrorCode;
///
/// assert_eq!(ErrorCode::MethodNotFound.code(), -32601);
/// assert_eq!(ErrorCode::from(-32601), ErrorCode::MethodNotFound);
/// assert_eq!(ErrorCode::from(4001), ErrorCode::Application(4001));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// -32700: the frame is not valid JSON.
    ParseError,
    /// -32600: the JSON is not a valid request object.
    InvalidRequest,
    /// -32601: no such method.
    MethodNotFound,
    /// -32602: the params do not fit the method.
    InvalidParams,
    /// -32603: the server failed while handling the call.
    InternalError,
    /// -32099 to -32000: reserved for implementation-defined server errors.
    ServerError(i32),
    /// Any other code: defined by the application.
    Application(i32),
}

/// wirecall's own codes, in the range the spec leaves to servers
/// (-32099 to -32000).
///
/// | code | constant | meaning | when |
/// |---|---|---|---|
/// | -32000 | [`SUBSCRIPTION_ENDED`](ErrorCode::SUBSCRIPTION_ENDED) | the serving end finished the subscription | its handler dropped the sink; sent as the `"ended": true` notice (older servers sent it as an `"error"` notice, which clients still read as a normal end) |
/// | -32001 | [`SLOW_SUBSCRIBER`](ErrorCode::SLOW_SUBSCRIBER) | the subscriber reads too slowly | a sink with `OverflowPolicy::Close` found its buffer full |
/// | -32002 | [`TOO_MANY_SUBSCRIPTIONS`](ErrorCode::TOO_MANY_SUBSCRIPTIONS) | the connection is at its subscription limit | a subscribe call beyond `max_subscriptions` |
/// | -32003 | [`CONNECTION_CLOSED`](ErrorCode::CONNECTION_CLOSED) | the connection ended | a received subscription's stream, when the socket closes under it |
/// | -32004 | [`UNSUBSCRIBE_REFUSED`](ErrorCode::UNSUBSCRIBE_REFUSED) | the serving end answered `false` to an unsubscribe | `Subscription::unsubscribe` against a server that refused |
/// | -32005 | [`RATE_LIMITED`](ErrorCode::RATE_LIMITED) | the connection sent calls faster than its rate limit allows | a call past the burst of `middleware::RateLimit`; `data.retry_after_ms` says when one token is back |
/// | -32006 | [`TIMED_OUT`](ErrorCode::TIMED_OUT) | the call ran past its time limit and was cancelled | `middleware::Timeout` |
/// | -32007 | [`BUS_UNAVAILABLE`](ErrorCode::BUS_UNAVAILABLE) | the bus behind the call did not answer in time or is down | a topic subscription, a resume or a presence call while a shared bus's server (Redis) is stopped or gone; `bus::BusError` through `?` |
/// | -32008 | [`HTTP_REFUSED`](ErrorCode::HTTP_REFUSED) | an HTTP server answered a call with an HTTP error status instead of JSON-RPC; `data.status` holds it | made by the client over `http://`: 413 for a body over the limit, 429 at the connection limit, 401/403 from the auth hook |
impl ErrorCode {
    /// -32000: the serving end finished the subscription.
    pub const SUBSCRIPTION_ENDED: ErrorCode = ErrorCode::ServerError(-32000);
    /// -32001: the subscriber read too slowly and the subscription was closed.
    pub const SLOW_SUBSCRIBER: ErrorCode = ErrorCode::ServerError(-32001);
    /// -32002: the connection already has as many subscriptions as allowed.
    pub const TOO_MANY_SUBSCRIPTIONS: ErrorCode = ErrorCode::ServerError(-32002);
    /// -32003: the connection ended, taking its subscriptions with it.
    pub const CONNECTION_CLOSED: ErrorCode = ErrorCode::ServerError(-32003);
    /// -32004: the serving end refused to unsubscribe (answered `false`).
    pub const UNSUBSCRIBE_REFUSED: ErrorCode = ErrorCode::ServerError(-32004);
    /// -32005: the connection is over its call rate limit; the call did not run.
    pub const RATE_LIMITED: ErrorCode = ErrorCode::ServerError(-32005);
    /// -32006: the call ran past its time limit; its handler was cancelled.
    pub const TIMED_OUT: ErrorCode = ErrorCode::ServerError(-32006);
    /// -32007: the bus (Redis, say) did not answer in time or is down.
    pub const BUS_UNAVAILABLE: ErrorCode = ErrorCode::ServerError(-32007);
    /// -32008: an HTTP client's request was answered with an HTTP error
    /// status (`data.status`) instead of JSON-RPC; made by the client.
    pub const HTTP_REFUSED: ErrorCode = ErrorCode::ServerError(-32008);
}

impl ErrorCode {
    /// The numeric code.
    pub const fn code(self) -> i32 {
        match self {
            ErrorCode::ParseError => -32700,
            ErrorCode::InvalidRequest => -32600,
            ErrorCode::MethodNotFound => -32601,
            ErrorCode::InvalidParams => -32602,
            ErrorCode::InternalError => -32603,
            ErrorCode::ServerError(code) | ErrorCode::Application(code) => code,
        }
    }

    /// The message the spec suggests for this code.
    pub const fn default_message(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "Parse error",
            ErrorCode::InvalidRequest => "Invalid Request",
            ErrorCode::MethodNotFound => "Method not found",
            ErrorCode::InvalidParams => "Invalid params",
            ErrorCode::InternalError => "Internal error",
            ErrorCode::ServerError(_) => "Server error",
            ErrorCode::Application(_) => "Application error",
        }
    }
}

impl From<i32> for ErrorCode {
    fn from(code: i32) -> ErrorCode {
        match code {
            -32700 => ErrorCode::ParseError,
            -32600 => ErrorCode::InvalidRequest,
            -32601 => ErrorCode::MethodNotFound,
            -32602 => ErrorCode::InvalidParams,
            -32603 => ErrorCode::InternalError,
            -32099..=-32000 => ErrorCode::ServerError(code),
            _ => ErrorCode::Application(code),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i32(self.code())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i32::deserialize(deserializer).map(ErrorCode::from)
    }
}

/// The `error` member of a failed response.
///
/// Handlers return `Result<T, E>` where `E: Into<ErrorObject>`; implement that
/// conversion for an application error type to give each variant its own code.
///
/// # Examples
///
/// ```
/// use wirecall::{ErrorCode, ErrorObject};
///
/// let err = ErrorObject::new(ErrorCode::Application(4001), "insufficient funds")
///     .with_data(&serde_json::json!({ "missing": 12 }));
/// assert_eq!(
///     serde_json::to_string(&err).unwrap(),
///     r#"{"code":4001,"message":"insufficient funds","data":{"missing":12}}"#
/// );
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code.
    pub code: ErrorCode,
    /// A short description.
    pub message: String,
    /// Extra information, kept as raw JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

impl PartialEq for ErrorObject {
    fn eq(&self, other: &Self) -> bool {
        self.code == other.code
            && self.message == other.message
            && self.data.as_deref().map(RawValue::get) == other.data.as_deref().map(RawValue::get)
    }
}

impl ErrorObject {
    /// An error with a code and a message and no data.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> ErrorObject {
        ErrorObject {
            code: code.into(),
            message: message.into(),
            data: None,
        }
    }

    /// An error with the spec's message for its code.
    pub fn from_code(code: ErrorCode) -> ErrorObject {
        ErrorObject::new(code, code.default_message())
    }

    /// -32700 Parse error.
    pub fn parse_error() -> ErrorObject {
        ErrorObject::from_code(ErrorCode::ParseError)
    }

    /// -32600 Invalid Request, with a message that says what is wrong.
    pub fn invalid_request(detail: impl fmt::Display) -> ErrorObject {
        ErrorObject::new(
            ErrorCode::InvalidRequest,
            format!("Invalid Request: {detail}"),
        )
    }

    /// -32601 Method not found, naming the method.
    pub fn method_not_found(method: &str) -> ErrorObject {
        ErrorObject::new(
            ErrorCode::MethodNotFound,
            format!("Method not found: `{method}`"),
        )
    }

    /// -32602 Invalid params, with a message that names the bad parameter.
    pub fn invalid_params(detail: impl fmt::Display) -> ErrorObject {
        ErrorObject::new(
            ErrorCode::InvalidParams,
            format!("Invalid params: {detail}"),
        )
    }

    /// -32603 Internal error, with a message that says what failed.
    pub fn internal_error(detail: impl fmt::Display) -> ErrorObject {
        ErrorObject::new(
            ErrorCode::InternalError,
            format!("Internal error: {detail}"),
        )
    }

    /// Attaches `data`, serialized to JSON. A value that cannot be serialized
    /// is replaced by a string saying why, so the error itself still goes out.
    ///
    /// # Panics
    ///
    /// Never: a plain string always serializes.
    #[must_use]
    pub fn with_data<T: Serialize + ?Sized>(mut self, data: &T) -> ErrorObject {
        self.data = Some(serde_json::value::to_raw_value(data).unwrap_or_else(|err| {
            serde_json::value::to_raw_value(&format!("unserializable error data: {err}"))
                .expect("a string always serializes")
        }));
        self
    }

    /// Decodes `data` into a type of the caller's choice.
    ///
    /// Returns `None` when there is no data.
    pub fn data_as<'a, T: Deserialize<'a>>(&'a self) -> Option<Result<T, serde_json::Error>> {
        self.data
            .as_deref()
            .map(|raw| serde_json::from_str(raw.get()))
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)?;
        if let Some(data) = &self.data {
            write!(f, ", data: {}", data.get())?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorObject {}

impl From<ErrorCode> for ErrorObject {
    fn from(code: ErrorCode) -> ErrorObject {
        ErrorObject::from_code(code)
    }
}

impl From<std::convert::Infallible> for ErrorObject {
    fn from(never: std::convert::Infallible) -> ErrorObject {
        match never {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_both_ways() {
        for code in [
            -32700, -32600, -32601, -32602, -32603, -32000, -32099, 1, -1,
        ] {
            assert_eq!(ErrorCode::from(code).code(), code);
        }
        assert_eq!(ErrorCode::from(-32050), ErrorCode::ServerError(-32050));
        assert_eq!(ErrorCode::from(-32100), ErrorCode::Application(-32100));
    }

    #[test]
    fn error_object_round_trips() {
        let text = r#"{"code":-32602,"message":"bad","data":[1,2]}"#;
        let err: ErrorObject = serde_json::from_str(text).unwrap();
        assert_eq!(err.code, ErrorCode::InvalidParams);
        assert_eq!(serde_json::to_string(&err).unwrap(), text);
        assert_eq!(err.data_as::<Vec<u8>>().unwrap().unwrap(), vec![1, 2]);
    }
}
