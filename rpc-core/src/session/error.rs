//! Errors of outgoing calls and the reason a connection ended.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::{ErrorObject, RpcError};

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The WebSocket close code, when a close frame was sent or received,
    /// or 1006 when a read found the connection dropped without one (a TCP
    /// reset).
    pub code: Option<u16>,
    /// What happened, in words.
    pub reason: Arc<str>,
}

impl Closed {
    pub(crate) fn new(code: Option<u16>, reason: impl Into<Arc<str>>) -> Closed {
        Closed {
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "connection closed ({}, code {code})", self.reason),
            None => write!(f, "connection closed ({})", self.reason),
        }
    }
}

impl std::error::Error for Closed {}

/// Why an outgoing call, notification or subscription failed.
///
/// # Examples
///
/// ```
/// use wirecall::{CallError, Client, ErrorCode};
///
/// async fn balance(client: &Client) -> Result<u64, String> {
///     match client.call::<u64>("balance", ["ada"]).await {
///         Ok(amount) => Ok(amount),
///         // The server answered with an error object: its code says which.
///         Err(CallError::Rpc(error)) if error.code == ErrorCode::Application(4004) => {
///             Ok(0)
///         }
///         Err(CallError::Rpc(error)) => Err(format!("refused: {}", error.message)),
///         Err(CallError::Timeout(after)) => Err(format!("no answer in {after:?}")),
///         Err(CallError::Closed(closed)) => Err(format!("not sent: {closed}")),
///         Err(CallError::Disconnected(closed)) => Err(format!("outcome unknown: {closed}")),
///         Err(other) => Err(other.to_string()),
///     }
/// }
/// ```
///
/// `E` is the application's own error type, for calls whose generated
/// client decodes it ([`RpcError`]); a plain `CallError` has none.
///
/// Its `Display` and `Error` are written by hand rather than derived: the
/// `App` variant is shown through its error object, which needs
/// `E: RpcError` on those impls only, not on the type (a bound on the type
/// would repeat every "not an `RpcError`" error at each place it is named).
#[derive(Debug)]
#[non_exhaustive]
pub enum CallError<E = Infallible> {
    /// The peer answered with one of the application's own errors.
    App(E),
    /// The peer answered with an error object (for a typed call: one whose
    /// code is not the application's, or whose data did not decode).
    Rpc(ErrorObject),
    /// The connection had ended before the call was sent: it did not run.
    Closed(Closed),
    /// The connection dropped while the call was on its way or running: it
    /// may or may not have run. A reconnecting client sends again only the
    /// calls marked idempotent (`Peer::call_idempotent`); others get this.
    Disconnected(Closed),
    /// No answer within the call timeout.
    Timeout(Duration),
    /// The params did not serialize to JSON.
    Encode(serde_json::Error),
    /// The answer did not decode as the expected type.
    Decode(serde_json::Error),
}

impl<E: RpcError> fmt::Display for CallError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::App(err) => write!(
                f,
                "the peer answered with an error: {}",
                err.to_error_object()
            ),
            CallError::Rpc(err) => write!(f, "the peer answered with an error: {err}"),
            CallError::Closed(closed) => closed.fmt(f),
            CallError::Disconnected(closed) => {
                write!(f, "disconnected while the call was in flight ({closed})")
            }
            CallError::Timeout(after) => write!(f, "no answer within {after:?}"),
            CallError::Encode(_) => f.write_str("the params did not serialize"),
            CallError::Decode(_) => f.write_str("the answer did not decode"),
        }
    }
}

impl<E: RpcError> std::error::Error for CallError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CallError::Encode(err) | CallError::Decode(err) => Some(err),
            _ => None,
        }
    }
}

impl<E> CallError<E> {
    /// The peer's error object, when the peer answered with one that is not
    /// one of the application's own.
    pub fn as_rpc(&self) -> Option<&ErrorObject> {
        match self {
            CallError::Rpc(err) => Some(err),
            _ => None,
        }
    }

    /// The application's own error, when the peer answered with one.
    pub fn as_app(&self) -> Option<&E> {
        match self {
            CallError::App(err) => Some(err),
            _ => None,
        }
    }
}

impl CallError {
    /// The same error with the peer's error object decoded as `E` when it
    /// is one of `E`'s (the generated client does this for typed methods).
    pub fn typed<E: RpcError>(self) -> CallError<E> {
        match self {
            CallError::Rpc(error) => match E::from_error_object(&error) {
                Some(app) => CallError::App(app),
                None => CallError::Rpc(error),
            },
            CallError::App(never) => match never {},
            CallError::Closed(closed) => CallError::Closed(closed),
            CallError::Disconnected(closed) => CallError::Disconnected(closed),
            CallError::Timeout(after) => CallError::Timeout(after),
            CallError::Encode(err) => CallError::Encode(err),
            CallError::Decode(err) => CallError::Decode(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_cause_is_told_once_through_source() {
        let cause = serde_json::from_str::<u8>("\"x\"").unwrap_err();
        let cause_text = cause.to_string();
        let errors: [CallError; 2] = [
            CallError::Decode(cause),
            CallError::Encode(serde_json::Error::io(std::io::Error::other("disk"))),
        ];
        for err in errors {
            let source = err.source().expect("the cause is the source").to_string();
            assert!(!err.to_string().contains(&source), "{err}");
        }
        assert!(!cause_text.is_empty());
    }
}
