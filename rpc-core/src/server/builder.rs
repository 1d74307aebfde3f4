//! The server's settings, each with its default.

use std::sync::Arc;
use std::time::Duration;

/// Bytes of frames gathered before tungstenite writes them without waiting
/// for the flush.
const WRITE_BUFFER: usize = 64 * 1024;

use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::handshake::{HandshakeHook, HandshakeRequest, Rejection};
use super::Server;
use crate::router::{Extensions, Router};
use crate::session::ConnectionConfig;

/// Configures and builds a [`Server`].
///
/// # Examples
///
/// ```no_run
/// use wirecall::Server;
/// use wirecall::Router;
///
/// # async fn run() -> std::io::Result<()> {
/// let handle = Server::builder()
///     .max_connections(1000)
///     .max_message_size(1 << 20)
///     .allowed_origins(["https://example.com"])
///     .build(Router::new())
///     .bind("127.0.0.1:0")
///     .await?;
/// println!("listening on {}", handle.local_addr());
/// handle.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServerBuilder {
    pub(super) max_connections: usize,
    pub(super) listen_backlog: u32,
    pub(super) max_message_size: usize,
    pub(super) read_buffer_size: usize,
    pub(super) handshake_timeout: Duration,
    pub(super) shutdown_deadline: Duration,
    pub(super) connection: ConnectionConfig,
    pub(super) origins: Option<Vec<String>>,
    pub(super) path: Option<String>,
    pub(super) hook: Option<HandshakeHook>,
    pub(super) tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for ServerBuilder {
    fn default() -> ServerBuilder {
        ServerBuilder {
            max_connections: 10_000,
            listen_backlog: 4096,
            max_message_size: 10 << 20,
            read_buffer_size: 4096,
            handshake_timeout: Duration::from_secs(10),
            shutdown_deadline: Duration::from_secs(10),
            connection: ConnectionConfig::default(),
            origins: None,
            path: None,
            hook: None,
            tls: None,
        }
    }
}

impl ServerBuilder {
    /// Open connections at most; the next upgrade is refused with HTTP 429.
    /// Default 10 000.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Connections the kernel may hold waiting to be accepted. When a
    /// restart brings thousands of clients back at once, a short queue
    /// drops their connection attempts and they wait a second to try again.
    /// Default 4096 (the kernel may cap it, at `net.core.somaxconn` on Linux).
    #[must_use]
    pub fn listen_backlog(mut self, backlog: u32) -> Self {
        self.listen_backlog = backlog;
        self
    }

    /// Largest message (and frame) accepted, in bytes; a bigger one closes the
    /// connection with code 1009 before its payload is read. Default 10 MiB.
    #[must_use]
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// The socket read buffer per connection, in bytes: the main cost of an
    /// idle connection. Default 4 KiB.
    #[must_use]
    pub fn read_buffer_size(mut self, bytes: usize) -> Self {
        self.read_buffer_size = bytes;
        self
    }

    /// Entries allowed in one batch ([`ConnectionConfig::max_batch_len`]).
    #[must_use]
    pub fn max_batch_len(mut self, max: usize) -> Self {
        self.connection.max_batch_len = max;
        self
    }

    /// Calls handled at once per connection
    /// ([`ConnectionConfig::max_in_flight`]).
    #[must_use]
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.connection.max_in_flight = max;
        self
    }

    /// Subscriptions per connection ([`ConnectionConfig::max_subscriptions`]).
    #[must_use]
    pub fn max_subscriptions(mut self, max: usize) -> Self {
        self.connection.max_subscriptions = max;
        self
    }

    /// Every per-connection limit and timer at once.
    #[must_use]
    pub fn connection_config(mut self, config: ConnectionConfig) -> Self {
        self.connection = config;
        self
    }

    /// Upgrade only requests for this path (e.g. `"/rpc"`); requests for any
    /// other path get 404. By default every path upgrades.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Accept only upgrades whose `Origin` header is in this list (others get
    /// 403). Without a list, any origin is accepted.
    #[must_use]
    pub fn allowed_origins<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        origins: I,
    ) -> Self {
        self.origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

    /// A hook run on every upgrade request after the Origin check: refuse it
    /// with a [`Rejection`], or return data that handlers then read through
    /// `Context::get` (an authenticated user, say).
    #[must_use]
    pub fn handshake<F>(mut self, hook: F) -> Self
    where
        F: Fn(&HandshakeRequest<'_>) -> Result<Extensions, Rejection> + Send + Sync + 'static,
    {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// How long a client may take to finish TLS and the upgrade. Default 10 s.
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long a graceful shutdown waits for in-flight calls. Default 10 s.
    #[must_use]
    pub fn shutdown_deadline(mut self, deadline: Duration) -> Self {
        self.shutdown_deadline = deadline;
        self
    }

    /// Serve `wss://` with this rustls configuration.
    #[must_use]
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Builds the server around `router`.
    pub fn build(self, router: Router) -> Server {
        let mut ws_config = WebSocketConfig::default();
        ws_config.max_message_size = Some(self.max_message_size);
        ws_config.max_frame_size = Some(self.max_message_size);
        ws_config.read_buffer_size = self.read_buffer_size;
        // Frames fed in one write turn gather here and go out in one
        // system call at its flush (or once this much is waiting): with
        // none, every frame was its own write.
        ws_config.write_buffer_size = WRITE_BUFFER;
        Server::new(self, router, ws_config)
    }
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("max_connections", &self.max_connections)
            .field("max_message_size", &self.max_message_size)
            .field("connection", &self.connection)
            .field("origins", &self.origins)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}
