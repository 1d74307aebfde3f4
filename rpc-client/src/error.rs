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
    /// The server answered the upgrade with an HTTP error (401, 403, 429…).
    #[error("the server refused the upgrade with HTTP {status}")]
    Refused {
        /// The HTTP status code.
        status: u16,
    },
    /// Connecting, TLS or the upgrade failed.
    #[error("connecting failed")]
    Handshake(#[source] tungstenite::Error),
    /// No connection within the connect timeout.
    #[error("no connection within {0:?}")]
    Timeout(Duration),
}
