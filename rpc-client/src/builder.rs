//! Settings for a new client connection.

use std::sync::Arc;
use std::time::Duration;

use rpc_core::io::Connection;
use rpc_core::{ConnectionConfig, Router};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::Connector;

use crate::{Client, ConnectError};

/// Configures a [`Client`] before connecting.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use wirecall::Client;
///
/// # async fn run() -> Result<(), wirecall::client::ConnectError> {
/// let client = Client::builder()
///     .connect_timeout(Duration::from_secs(3))
///     .call_timeout(Duration::from_secs(10))
///     .header("Authorization", "Bearer secret")
///     .connect("ws://127.0.0.1:4000/")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    connect_timeout: Duration,
    max_message_size: usize,
    config: ConnectionConfig,
    headers: Vec<(String, String)>,
    router: Router,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            connect_timeout: Duration::from_secs(10),
            max_message_size: 64 << 20,
            config: ConnectionConfig::default(),
            headers: Vec::new(),
            router: Router::new(),
            tls: None,
        }
    }
}

impl ClientBuilder {
    /// How long connecting (TCP, TLS, upgrade) may take. Default 10 s.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a call waits for its answer. Default 30 s.
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.config.call_timeout = timeout;
        self
    }

    /// Outgoing calls awaiting answers at once; further calls wait.
    /// Default 1024.
    #[must_use]
    pub fn max_pending_calls(mut self, max: usize) -> Self {
        self.config.max_pending_calls = max;
        self
    }

    /// Largest message accepted from the server, in bytes. Default 64 MiB.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Items buffered per subscription before the oldest is dropped and
    /// reported as lagged. Default 4096.
    #[must_use]
    pub fn subscription_buffer(mut self, items: usize) -> Self {
        self.config.subscription_buffer = items;
        self
    }

    /// Every connection limit and timer at once.
    #[must_use]
    pub fn connection_config(mut self, config: ConnectionConfig) -> Self {
        self.config = config;
        self
    }

    /// An extra header on the upgrade request, such as `Authorization`.
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Methods the server may call on this client over the same connection.
    #[must_use]
    pub fn router(mut self, router: Router) -> Self {
        self.router = router;
        self
    }

    /// The rustls configuration for `wss://` (for example with a private
    /// root certificate). Default: the Mozilla roots of `webpki-roots`.
    #[must_use]
    pub fn tls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Connects to `url` (`ws://` or `wss://`).
    ///
    /// # Errors
    ///
    /// [`ConnectError`].
    pub async fn connect(self, url: &str) -> Result<Client, ConnectError> {
        let mut request = url
            .into_client_request()
            .map_err(|err| ConnectError::InvalidRequest(err.to_string()))?;
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|err| {
                ConnectError::InvalidRequest(format!("header name {name:?}: {err}"))
            })?;
            let value = HeaderValue::from_str(value)
                .map_err(|err| ConnectError::InvalidRequest(format!("header {name}: {err}")))?;
            request.headers_mut().append(name, value);
        }
        let mut ws_config = WebSocketConfig::default();
        ws_config.max_message_size = Some(self.max_message_size);
        ws_config.max_frame_size = Some(self.max_message_size);
        let connector = if request.uri().scheme_str() == Some("wss") {
            Connector::Rustls(self.tls.clone().unwrap_or_else(default_tls))
        } else {
            Connector::Plain
        };
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(ws_config),
            true,
            Some(connector),
        );
        let (socket, _response) = match tokio::time::timeout(self.connect_timeout, connecting).await
        {
            Ok(Ok(connected)) => connected,
            Ok(Err(WsError::Http(response))) => {
                return Err(ConnectError::Refused {
                    status: response.status().as_u16(),
                })
            }
            Ok(Err(err)) => return Err(ConnectError::Handshake(err)),
            Err(_) => return Err(ConnectError::Timeout(self.connect_timeout)),
        };
        let peer = Connection::new(self.router)
            .config(self.config)
            .spawn(socket);
        Ok(Client::from_peer(peer))
    }
}

fn default_tls() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}
