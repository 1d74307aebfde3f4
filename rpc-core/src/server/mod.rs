//! The WebSocket server: accept loop, handshake checks, limits, TLS, and
//! graceful shutdown.

mod handshake;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
pub use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

pub use handshake::{HandshakeHook, HandshakeRequest, Rejection};

use crate::connection::{self, ConnectionConfig, ConnectionParts, Peer};
use crate::router::{Extensions, Router};

/// Configures and builds a [`Server`].
///
/// # Examples
///
/// ```no_run
/// use rpc_core::server::Server;
/// use rpc_core::Router;
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
    max_connections: usize,
    max_message_size: usize,
    read_buffer_size: usize,
    handshake_timeout: Duration,
    shutdown_deadline: Duration,
    connection: ConnectionConfig,
    origins: Option<Vec<String>>,
    hook: Option<HandshakeHook>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Default for ServerBuilder {
    fn default() -> ServerBuilder {
        ServerBuilder {
            max_connections: 10_000,
            max_message_size: 10 << 20,
            read_buffer_size: 4096,
            handshake_timeout: Duration::from_secs(10),
            shutdown_deadline: Duration::from_secs(10),
            connection: ConnectionConfig::default(),
            origins: None,
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

    /// Entries allowed in one batch. Default 1000.
    #[must_use]
    pub fn max_batch_len(mut self, max: usize) -> Self {
        self.connection.max_batch_len = max;
        self
    }

    /// Calls handled at once per connection. Default 64.
    #[must_use]
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.connection.max_in_flight = max;
        self
    }

    /// Subscriptions per connection. Default 1024.
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
    /// [`crate::Context::get`] (an authenticated user, say).
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
        ws_config.write_buffer_size = 0;
        Server {
            shared: Arc::new(Shared {
                router: Arc::new(router),
                connection: Arc::new(self.connection.clone()),
                ws_config,
                builder: self,
                stop: CancellationToken::new(),
                drain: CancellationToken::new(),
                active: AtomicUsize::new(0),
                all_closed: Notify::new(),
                peers: Mutex::default(),
                next_peer: AtomicU64::new(0),
            }),
        }
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

/// A JSON-RPC WebSocket server: bind it to a port, or hand it sockets that
/// another HTTP stack has already upgraded.
#[derive(Clone, Debug)]
pub struct Server {
    shared: Arc<Shared>,
}

struct Shared {
    router: Arc<Router>,
    connection: Arc<ConnectionConfig>,
    ws_config: WebSocketConfig,
    builder: ServerBuilder,
    stop: CancellationToken,
    drain: CancellationToken,
    active: AtomicUsize,
    all_closed: Notify,
    peers: Mutex<HashMap<u64, Peer>>,
    next_peer: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("router", &self.router)
            .field("active", &self.active.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A builder with the default limits.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// Listens on `addr` (port 0 picks a free port) and serves until shut down.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> std::io::Result<ServerHandle> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        tokio::spawn(accept_loop(self.shared.clone(), listener));
        Ok(ServerHandle {
            server: self,
            local_addr,
        })
    }

    /// Serves a connection that another HTTP stack (hyper, axum…) has already
    /// upgraded to WebSocket: `io` is the raw upgraded byte stream.
    pub async fn serve_upgraded<S>(
        &self,
        io: S,
        remote_addr: Option<SocketAddr>,
        extensions: Extensions,
    ) -> Peer
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let socket =
            WebSocketStream::from_raw_socket(io, Role::Server, Some(self.shared.ws_config)).await;
        let slot = Slot::take_unchecked(self.shared.clone());
        serve(slot, socket, remote_addr, extensions)
    }

    /// Checks an upgrade request that another HTTP stack received — the
    /// WebSocket headers, the Origin allow-list, the handshake hook and the
    /// connection limit — and returns the `101 Switching Protocols` response
    /// to send, with the data the hook attached. Then hand the upgraded byte
    /// stream and that data to [`Server::serve_upgraded`].
    ///
    /// # Errors
    ///
    /// The [`Rejection`] to answer with instead (400, 401, 403 or 429).
    pub fn accept_upgrade(
        &self,
        request: &http::Request<()>,
        remote_addr: Option<SocketAddr>,
    ) -> Result<(http::Response<()>, Extensions), Rejection> {
        let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
        let upgrade = header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if request.method() != http::Method::GET
            || !upgrade
            || header("sec-websocket-version") != Some("13")
        {
            return Err(Rejection::bad_request(
                "expected a WebSocket upgrade (GET, Upgrade: websocket, version 13)",
            ));
        }
        let Some(key) = header("sec-websocket-key") else {
            return Err(Rejection::bad_request("missing Sec-WebSocket-Key"));
        };
        if self.connection_count() >= self.shared.builder.max_connections {
            return Err(Rejection::too_many("too many connections"));
        }
        let origins = self.shared.builder.origins.as_deref();
        let extensions = handshake::admit(
            request,
            remote_addr,
            origins,
            self.shared.builder.hook.as_ref(),
        )?;
        let response = http::Response::builder()
            .status(http::StatusCode::SWITCHING_PROTOCOLS)
            .header("connection", "Upgrade")
            .header("upgrade", "websocket")
            .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
            .body(())
            .map_err(|err| Rejection::bad_request(err.to_string()))?;
        Ok((response, extensions))
    }

    /// Open connections right now.
    pub fn connection_count(&self) -> usize {
        self.shared.active.load(Ordering::Relaxed)
    }

    /// Handles to every open connection (to inspect them or call the clients).
    pub fn peers(&self) -> Vec<Peer> {
        let peers = self.shared.peers.lock();
        let peers = peers.unwrap_or_else(std::sync::PoisonError::into_inner);
        peers.values().cloned().collect()
    }
}

/// A running server: its address, and the way to stop it.
#[derive(Debug, Clone)]
pub struct ServerHandle {
    server: Server,
    local_addr: SocketAddr,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when bound to 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The server, e.g. to inspect its connections.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Stops gracefully: stops accepting, lets in-flight calls finish within
    /// the shutdown deadline, sends close frames (1001), and returns once
    /// every connection has ended.
    pub async fn shutdown(&self) {
        let shared = &self.server.shared;
        shared.stop.cancel();
        shared.drain.cancel();
        let patience = shared.builder.shutdown_deadline + shared.connection.write_timeout;
        let all_closed = async {
            loop {
                let notified = shared.all_closed.notified();
                if shared.active.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(patience, all_closed).await.is_err() {
            tracing::warn!("connections still open after the shutdown deadline");
        }
    }
}

/// One place among `max_connections`, given back when dropped.
struct Slot {
    shared: Arc<Shared>,
    /// The connection's entry in the server's peer list, once it has one.
    key: Option<u64>,
}

impl Slot {
    /// A slot if fewer than `max_connections` are taken; refused handshakes
    /// never count, even for a moment.
    fn take(shared: &Arc<Shared>) -> Option<Slot> {
        let max = shared.builder.max_connections;
        shared
            .active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(Slot {
            shared: shared.clone(),
            key: None,
        })
    }

    fn take_unchecked(shared: Arc<Shared>) -> Slot {
        shared.active.fetch_add(1, Ordering::AcqRel);
        Slot { shared, key: None }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut peers = self
                .shared
                .peers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            peers.remove(&key);
        }
        if self.shared.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.all_closed.notify_waiters();
        }
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shared.stop.cancelled() => break,
        };
        match accepted {
            Ok((tcp, remote_addr)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(upgrade(shared.clone(), tcp, remote_addr));
            }
            Err(err) => {
                // Out of descriptors and similar: back off instead of spinning.
                tracing::warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn upgrade(shared: Arc<Shared>, tcp: TcpStream, remote_addr: SocketAddr) {
    let timeout = shared.builder.handshake_timeout;
    match shared.builder.tls.clone() {
        Some(tls) => {
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            match tokio::time::timeout(timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => handshake(shared, stream, remote_addr).await,
                Ok(Err(err)) => tracing::debug!(%err, %remote_addr, "TLS handshake failed"),
                Err(_) => tracing::debug!(%remote_addr, "TLS handshake timed out"),
            }
        }
        None => handshake(shared, tcp, remote_addr).await,
    }
}

// The callback's error type is fixed by tungstenite's `Callback` trait.
#[allow(clippy::result_large_err)]
async fn handshake<S>(shared: Arc<Shared>, stream: S, remote_addr: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let slot = Slot::take(&shared);
    let mut admitted = None;
    let callback = |request: &Request, response: Response| {
        if slot.is_none() {
            return Err(Rejection::too_many("too many connections").into_response());
        }
        let origins = shared.builder.origins.as_deref();
        match handshake::admit(
            request,
            Some(remote_addr),
            origins,
            shared.builder.hook.as_ref(),
        ) {
            Ok(extensions) => {
                admitted = Some(extensions);
                Ok(response)
            }
            Err(rejection) => Err(rejection.into_response()),
        }
    };
    let upgrade =
        tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(shared.ws_config));
    let socket = match tokio::time::timeout(shared.builder.handshake_timeout, upgrade).await {
        Ok(Ok(socket)) => socket,
        Ok(Err(err)) => return tracing::debug!(%err, %remote_addr, "upgrade refused or failed"),
        Err(_) => return tracing::debug!(%remote_addr, "upgrade timed out"),
    };
    let (Some(slot), Some(extensions)) = (slot, admitted) else {
        return;
    };
    serve(slot, socket, Some(remote_addr), extensions);
}

/// Runs the engine on an upgraded socket and keeps the slot until it ends.
fn serve<S>(
    slot: Slot,
    socket: WebSocketStream<S>,
    remote_addr: Option<SocketAddr>,
    extensions: Extensions,
) -> Peer
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let shared = slot.shared.clone();
    let key = shared.next_peer.fetch_add(1, Ordering::Relaxed);
    let mut slot = slot;
    slot.key = Some(key);
    let parts = ConnectionParts {
        router: shared.router.clone(),
        config: shared.connection.clone(),
        remote_addr,
        drain: shared.drain.child_token(),
        drain_deadline: shared.builder.shutdown_deadline,
        // Released, with the peer-list entry, when the connection ends.
        guard: Some(Arc::new(slot)),
    };
    let peer = connection::spawn(socket, parts, extensions);
    let mut peers = shared
        .peers
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !peer.is_closed() {
        peers.insert(key, peer.clone());
    }
    drop(peers);
    peer
}
