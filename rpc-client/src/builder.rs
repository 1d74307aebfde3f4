//! Settings for a new client connection.

use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use wirecall_core::io::{Connection, ReconnectPolicy, Socket};
use wirecall_core::{ConnectionConfig, ConnectionEvent, Router};

#[cfg(target_arch = "wasm32")]
use crate::browser::BrowserDialer;
use crate::error::with_causes;
#[cfg(not(target_arch = "wasm32"))]
use crate::http::HttpDialer;
#[cfg(not(target_arch = "wasm32"))]
use crate::websocket::{default_tls, WebSocket, WsDialer};
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
    pub(crate) connect_timeout: Duration,
    pub(crate) max_message_size: usize,
    pub(crate) config: ConnectionConfig,
    pub(crate) headers: Vec<(String, String)>,
    router: Router,
    #[cfg(not(target_arch = "wasm32"))]
    tls: Option<Arc<rustls::ClientConfig>>,
    reconnect: Option<ReconnectPolicy>,
    on_event: Option<EventHook>,
    pub(crate) http_connections: usize,
}

/// What `on_connection_event` is given.
type EventHook = Arc<dyn Fn(&ConnectionEvent) + Send + Sync>;

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = f.debug_struct("ClientBuilder");
        out.field("connect_timeout", &self.connect_timeout)
            .field("max_message_size", &self.max_message_size)
            .field("config", &self.config)
            .field("headers", &self.headers.len())
            .field("reconnect", &self.reconnect)
            .field("http_connections", &self.http_connections);
        #[cfg(not(target_arch = "wasm32"))]
        out.field("tls", &self.tls.is_some());
        out.finish_non_exhaustive()
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
            #[cfg(not(target_arch = "wasm32"))]
            tls: None,
            reconnect: None,
            on_event: None,
            http_connections: 32,
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

    /// Over `http://` (not in the browser): requests in flight at once,
    /// each on a keep-alive connection of its own (kept for the next
    /// request); further calls wait their turn. Default 32. Subscriptions'
    /// event streams hold a connection each besides.
    #[must_use]
    pub fn http_connections(mut self, max: usize) -> Self {
        self.http_connections = max.max(1);
        self
    }

    /// Methods the server may call on this client over the same connection.
    #[must_use]
    pub fn router(mut self, router: Router) -> Self {
        self.router = router;
        self
    }

    /// The rustls configuration for `wss://` and `https://` (for example
    /// with a private root certificate). Default: the Mozilla roots of
    /// `webpki-roots`. Not in the browser, whose own TLS is used.
    #[cfg(not(target_arch = "wasm32"))]
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

    /// Connects to `url`: `ws://` or `wss://` for a WebSocket, `http://` or
    /// `https://` for plain HTTP (each call a `POST`, each subscription a
    /// Server-Sent Events stream; see [the crate docs](crate#over-plain-http)).
    ///
    /// # Errors
    ///
    /// [`ConnectError`].
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn connect(self, url: &str) -> Result<Client, ConnectError> {
        if is_http(url) {
            let dialer = Arc::new(HttpDialer::new(&self, url)?);
            let socket = dialer.dial().await?;
            return Ok(self.start(socket, move || {
                let dialer = dialer.clone();
                async move { dialer.dial().await.map_err(|err| with_causes(&err)) }
            }));
        }
        let dialer = Arc::new(WsDialer::new(&self, url)?);
        let socket = dialer.dial().await?;
        Ok(self.start(socket, move || {
            let dialer = dialer.clone();
            async move { dialer.dial().await.map_err(|err| with_causes(&err)) }
        }))
    }

    /// Connects to `url` (`ws://` or `wss://`) through the browser's
    /// WebSocket. Headers cannot be set there: [`header`](Self::header)
    /// makes this fail; pass credentials in the URL's query or a cookie.
    ///
    /// # Errors
    ///
    /// [`ConnectError`].
    #[cfg(target_arch = "wasm32")]
    pub async fn connect(self, url: &str) -> Result<Client, ConnectError> {
        let dialer = Arc::new(BrowserDialer::new(&self, url)?);
        let socket = dialer.dial().await?;
        Ok(self.start(socket, move || {
            let dialer = dialer.clone();
            async move { dialer.dial().await.map_err(|err| with_causes(&err)) }
        }))
    }

    /// Runs the session on `socket`; a reconnecting client opens the next
    /// one with `redial`.
    fn start<S, F, Fut>(self, socket: S, redial: F) -> Client
    where
        S: Socket,
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = Result<S, String>> + Send + 'static,
    {
        let mut connection = Connection::new(self.router).config(self.config);
        let peer = match self.reconnect {
            None => connection.spawn(socket),
            Some(policy) => {
                if let Some(hook) = self.on_event {
                    connection = connection.on_connection_event(move |event| hook(event));
                }
                connection.spawn_reconnecting(socket, policy, redial)
            }
        };
        Client::from_peer(peer)
    }

    /// The extra headers, checked: sent with the upgrade or every request.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn header_map(&self) -> Result<hyper::HeaderMap, ConnectError> {
        use hyper::header::{HeaderName, HeaderValue};
        let mut headers = hyper::HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|err| {
                ConnectError::InvalidRequest(format!("header name {name:?}: {err}"))
            })?;
            let value = HeaderValue::from_str(value)
                .map_err(|err| ConnectError::InvalidRequest(format!("header {name}: {err}")))?;
            headers.append(name, value);
        }
        Ok(headers)
    }

    /// The TLS settings for `wss://` and `https://`.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn tls_config(&self) -> Arc<rustls::ClientConfig> {
        self.tls.clone().unwrap_or_else(default_tls)
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
    /// [`ConnectError`] (`InvalidRequest` for an `http://` URL).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn open_socket(self, url: &str) -> Result<WebSocket, ConnectError> {
        WsDialer::new(&self, url)?.dial().await
    }
}

/// Whether `url` names plain HTTP rather than a WebSocket.
#[cfg(not(target_arch = "wasm32"))]
fn is_http(url: &str) -> bool {
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
}
