//! The client in the browser (`wasm32`): the page's own WebSocket carries
//! the session, so TLS is the browser's and `wss://` needs nothing more.
//! A browser WebSocket sends no headers of the page's choosing: pass
//! credentials in the URL's query (the server's handshake hook sees it) or
//! in a cookie the browser sends with the upgrade.

mod socket;

use std::time::Duration;

pub(crate) use socket::BrowserSocket;

use crate::{ClientBuilder, ConnectError};

/// Everything needed to open the WebSocket again.
pub(crate) struct BrowserDialer {
    url: String,
    timeout: Duration,
    max_message_size: usize,
}

impl BrowserDialer {
    pub(crate) fn new(builder: &ClientBuilder, url: &str) -> Result<BrowserDialer, ConnectError> {
        if !builder.headers.is_empty() {
            return Err(ConnectError::InvalidRequest(
                "a browser WebSocket cannot carry headers: pass credentials in the URL's \
                 query or in a cookie"
                    .into(),
            ));
        }
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        if !(scheme.eq_ignore_ascii_case("ws") || scheme.eq_ignore_ascii_case("wss")) {
            return Err(ConnectError::InvalidRequest(format!(
                "{url:?}: in the browser the client connects over ws:// or wss://"
            )));
        }
        Ok(BrowserDialer {
            url: url.to_owned(),
            timeout: builder.connect_timeout,
            max_message_size: builder.max_message_size,
        })
    }

    pub(crate) async fn dial(&self) -> Result<BrowserSocket, ConnectError> {
        BrowserSocket::open(&self.url, self.timeout, self.max_message_size).await
    }
}
