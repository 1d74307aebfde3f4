//! Settings for a new client connection.

use std::sync::Arc;
use std::time::Duration;

use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use wirecall_core::io::{Connection, ReconnectPolicy};
use wirecall_core::{ConnectionConfig, ConnectionEvent, Router};

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
#[derive(Clone)]
pub struct ClientBuilder {
    connect_timeout: Duration,
    max_message_size: usize,
    config: ConnectionConfig,
    headers: Vec<(String, String)>,
    router: Router,
    tls: Option<Arc<rustls::ClientConfig>>,
    reconnect: Option<ReconnectPolicy>,
    on_event: Option<EventHook>,
}

/// What `on_connection_event` is given.
type EventHook = Arc<dyn Fn(&ConnectionEvent) + Send + Sync>;

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("max_message_size", &self.max_message_size)
            .field("config", &self.config)
            .field("headers", &self.headers.len())
            .field("tls", &self.tls.is_some())
            .field("reconnect", &self.reconnect)
            .finish_non_exhaustive()
    }
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
            reconnect: None,
            on_event: None,
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

    /// How long a call waits for its answer ([`ConnectionConfig::call_timeout`]).
    #[must_use]
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.config.call_timeout = timeout;
        self
    }

    /// Outgoing calls awaiting answers at once; further calls wait
    /// ([`ConnectionConfig::max_pending_calls`]).
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
    /// reported as lagged ([`ConnectionConfig::subscription_buffer`]).
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

    /// Reconnects by itself when the connection drops, waiting between
    /// attempts as `policy` says; headers and TLS settings go again with
    /// every attempt. Calls made while reconnecting wait (up to the call
    /// timeout); calls in flight when the connection drops fail with
    /// [`CallError::Disconnected`](wirecall_core::CallError::Disconnected), but
    /// `call_idempotent` ones are sent again; subscriptions carry on over
    /// the new connection and say how they picked up
    /// ([`SubscriptionEvent`](wirecall_core::SubscriptionEvent)). The first
    /// connect is not retried: its error is returned.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use wirecall::client::ReconnectPolicy;
    /// use wirecall::Client;
    ///
    /// # async fn run() -> Result<(), wirecall::client::ConnectError> {
    /// let client = Client::builder()
    ///     .reconnect(ReconnectPolicy::default().max_delay(Duration::from_secs(10)))
    ///     .on_connection_event(|event| eprintln!("{event}"))
    ///     .connect("ws://127.0.0.1:4000/")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = Some(policy);
        self
    }

    /// Calls `hook` with each change of a reconnecting client's connection
    /// (disconnected, reconnecting, attempt failed, reconnected, gave up),
    /// on the task that reconnects; keep it short.
    #[must_use]
    pub fn on_connection_event(
        mut self,
        hook: impl Fn(&ConnectionEvent) + Send + Sync + 'static,
    ) -> Self {
        self.on_event = Some(Arc::new(hook));
        self
    }

    /// Connects to `url` (`ws://` or `wss://`).
    ///
    /// # Errors
    ///
    /// [`ConnectError`].
    pub async fn connect(self, url: &str) -> Result<Client, ConnectError> {
        let dialer = Arc::new(Dialer::new(&self, url)?);
        let socket = dialer.dial().await?;
        let mut connection = Connection::new(self.router).config(self.config);
        let peer = match self.reconnect {
            None => connection.spawn(socket),
            Some(policy) => {
                if let Some(hook) = self.on_event {
                    connection = connection.on_connection_event(move |event| hook(event));
                }
                connection.spawn_reconnecting(socket, policy, move || {
                    let dialer = dialer.clone();
                    async move { dialer.dial().await.map_err(|err| with_causes(&err)) }
                })
            }
        };
        Ok(Client::from_peer(peer))
    }

    /// Opens the WebSocket the way [`connect`](Self::connect) does (headers,
    /// TLS, size limits, connect timeout) but runs no session on it: the
    /// caller reads and writes frames itself. For tools that must show a
    /// peer's frames exactly as they came, such as the `wirecall` command's
    /// `--raw`. The socket's types are tokio-tungstenite's, re-exported as
    /// [`tungstenite`](crate::tungstenite).
    ///
    /// # Errors
    ///
    /// [`ConnectError`].
    pub async fn open_socket(self, url: &str) -> Result<WebSocket, ConnectError> {
        Dialer::new(&self, url)?.dial().await
    }
}

/// A WebSocket opened by [`ClientBuilder::open_socket`].
pub type WebSocket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// An error and its causes on one line, for a connection event. Many
/// errors already print their cause in their own message (an I/O error
/// inside tungstenite's), so a cause already told is not told again.
fn with_causes(err: &dyn std::error::Error) -> String {
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

/// Everything needed to open the connection again: the upgrade request
/// with its headers, limits and TLS.
struct Dialer {
    request: Request,
    ws_config: WebSocketConfig,
    connector: Connector,
    timeout: Duration,
}

impl Dialer {
    fn new(builder: &ClientBuilder, url: &str) -> Result<Dialer, ConnectError> {
        let mut request = url
            .into_client_request()
            .map_err(|err| ConnectError::InvalidRequest(err.to_string()))?;
        for (name, value) in &builder.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|err| {
                ConnectError::InvalidRequest(format!("header name {name:?}: {err}"))
            })?;
            let value = HeaderValue::from_str(value)
                .map_err(|err| ConnectError::InvalidRequest(format!("header {name}: {err}")))?;
            request.headers_mut().append(name, value);
        }
        let mut ws_config = WebSocketConfig::default();
        ws_config.max_message_size = Some(builder.max_message_size);
        ws_config.max_frame_size = Some(builder.max_message_size);
        let connector = if request.uri().scheme_str() == Some("wss") {
            Connector::Rustls(builder.tls.clone().unwrap_or_else(default_tls))
        } else {
            Connector::Plain
        };
        Ok(Dialer {
            request,
            ws_config,
            connector,
            timeout: builder.connect_timeout,
        })
    }

    async fn dial(&self) -> Result<WebSocket, ConnectError> {
        let connecting = tokio_tungstenite::connect_async_tls_with_config(
            self.request.clone(),
            Some(self.ws_config),
            true,
            Some(self.connector.clone()),
        );
        match tokio::time::timeout(self.timeout, connecting).await {
            Ok(Ok((socket, _response))) => Ok(socket),
            Ok(Err(WsError::Http(response))) => Err(ConnectError::Refused {
                status: response.status().as_u16(),
            }),
            Ok(Err(err)) => Err(ConnectError::Handshake(err)),
            Err(_) => Err(ConnectError::Timeout(self.timeout)),
        }
    }
}

fn default_tls() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    // ring builds with no C toolchain; rustls 0.23.48 deprecates its
    // provider only for lacking post-quantum key exchange (aws-lc-rs has it).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::with_causes;
    use crate::ConnectError;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let err = ConnectError::Handshake(tokio_tungstenite::tungstenite::Error::Io(refused));
        assert_eq!(with_causes(&err), "connecting failed: IO error: refused");
    }
}
