//! Why a connection could not be opened.

use std::time::Duration;

use tokio_tungstenite::tungstenite;

/// Why [`crate::ClientBuilder::connect`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL or a header is not usable.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The server answered the WebSocket upgrade with an HTTP error (401,
    /// 403, 429…).
    #[error("the server refused the upgrade with HTTP {status}")]
    Refused {
        /// The HTTP status code.
        status: u16,
    },
    /// Connecting, TLS or the upgrade failed.
    #[error("connecting failed")]
    Handshake(#[source] tungstenite::Error),
    /// The HTTP server could not be reached (TCP or TLS failed).
    #[error("connecting failed")]
    Unreachable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// No connection within the connect timeout.
    #[error("no connection within {0:?}")]
    Timeout(Duration),
}

/// An error and its causes on one line, for a connection event. Many
/// errors already print their cause in their own message (an I/O error
/// inside tungstenite's), so a cause already told is not told again.
pub(crate) fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{with_causes, ConnectError};

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = ConnectError::Handshake(tokio_tungstenite::tungstenite::Error::Io(refused));
        assert_eq!(with_causes(&err), "connecting failed: IO error: refused");
    }
}
