//! JSON-RPC over plain HTTP, for the same session that runs over a
//! WebSocket: [`HttpSocket`] takes the frames the session would write and
//! posts each one, and hands back as frames what the answers hold. A call
//! is posted accepting either JSON or an event stream, so a subscribe call
//! comes back as a Server-Sent Events stream whose events are the
//! subscription's frames, and everything above the socket (calls, batches,
//! subscriptions, reconnecting and resuming) works unchanged.
//!
//! Built on hyper-util's pooled client: the server already runs on hyper,
//! the pool keeps connections alive between calls, and a response body is
//! read frame by frame, which an event stream needs. reqwest would bring a
//! second TLS set-up and features a JSON-RPC transport does not use
//! (redirects, cookies, proxies, decompression).

mod events;
mod exchange;
mod socket;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderMap;
use hyper::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower_service::Service;

pub(crate) use socket::HttpSocket;

use crate::{ClientBuilder, ConnectError};

type Connector = HttpsConnector<HttpConnector>;

/// Where every request of one client goes, and how.
#[derive(Debug)]
pub(crate) struct Target {
    client: Client<Connector, Full<Bytes>>,
    uri: Uri,
    /// The builder's headers, sent with every request.
    headers: HeaderMap,
    max_message_size: usize,
    /// How long an event stream may stay silent (the server says it is
    /// alive every 15 s).
    stream_idle: Option<Duration>,
}

/// Everything needed to open the HTTP "connection" again.
pub(crate) struct HttpDialer {
    target: Arc<Target>,
    connector: Connector,
    timeout: Duration,
    requests_at_once: usize,
}

impl HttpDialer {
    pub(crate) fn new(builder: &ClientBuilder, url: &str) -> Result<HttpDialer, ConnectError> {
        let uri: Uri = url
            .parse()
            .map_err(|err| ConnectError::InvalidRequest(format!("{url:?}: {err}")))?;
        if uri.host().is_none() {
            return Err(ConnectError::InvalidRequest(format!(
                "{url:?} names no host"
            )));
        }
        let headers = builder.header_map()?;
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(builder.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config((*builder.tls_config()).clone())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(builder.http_connections)
            .build(connector.clone());
        Ok(HttpDialer {
            target: Arc::new(Target {
                client,
                uri,
                headers,
                max_message_size: builder.max_message_size,
                stream_idle: builder.config.idle_timeout,
            }),
            connector,
            timeout: builder.connect_timeout,
            requests_at_once: builder.http_connections,
        })
    }

    /// Checks that the server can be reached (TCP, and TLS for https://),
    /// so a client that cannot reach it fails to connect as a WebSocket
    /// client would, then hands out a fresh socket.
    pub(crate) async fn dial(&self) -> Result<HttpSocket, ConnectError> {
        let mut connector = self.connector.clone();
        match tokio::time::timeout(self.timeout, connector.call(self.target.uri.clone())).await {
            Ok(Ok(_reachable)) => {}
            Ok(Err(err)) => return Err(ConnectError::Unreachable(err)),
            Err(_) => return Err(ConnectError::Timeout(self.timeout)),
        }
        Ok(HttpSocket::new(self.target.clone(), self.requests_at_once))
    }
}
