//! The WebSocket server: accept loop, handshake checks, limits, TLS, and
//! graceful shutdown.

mod accept;
mod builder;
mod handshake;
mod plain_http;
mod request;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, ToSocketAddrs};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
pub use tokio_tungstenite::tungstenite::http;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

pub use builder::ServerBuilder;
pub use handshake::{HandshakeHook, HandshakeRequest, Rejection};
pub use plain_http::HttpBody;

use crate::router::{Extensions, Router};
use crate::session::{ConnectionConfig, Peer};
use crate::telemetry;
use accept::{accept_loop, serve, Slot};

/// A JSON-RPC WebSocket server: bind it to a port, or hand it sockets that
/// another HTTP stack has already upgraded.
///
/// # Examples
///
/// ```
/// use wirecall::{Context, ErrorObject, Params, Router, Server};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut router = Router::new();
/// router.method("ping", |_: Params<'_>, _: &Context| Ok(async { Ok::<_, ErrorObject>("pong") }))?;
/// let handle = Server::builder()
///     .max_connections(1_000)
///     .build(router)
///     .bind("127.0.0.1:0")
///     .await?;
/// println!("serving on ws://{}/", handle.local_addr());
/// handle.shutdown().await;
/// # Ok(()) }
/// ```
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
    fn new(builder: ServerBuilder, router: Router, ws_config: WebSocketConfig) -> Server {
        Server {
            shared: Arc::new(Shared {
                router: Arc::new(router),
                connection: Arc::new(builder.connection.clone()),
                ws_config,
                builder,
                stop: CancellationToken::new(),
                drain: CancellationToken::new(),
                active: AtomicUsize::new(0),
                all_closed: Notify::new(),
                peers: Mutex::default(),
                next_peer: AtomicU64::new(0),
            }),
        }
    }

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
        let listener = listen(addr, self.shared.builder.listen_backlog).await?;
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
        let slot = Slot::take_unchecked(self.shared.clone());
        self.serve_upgraded_in(slot, io, remote_addr, extensions)
            .await
    }

    /// Checks an upgrade request that another HTTP stack received — the
    /// same checks the built-in accept loop makes: the path (when
    /// restricted), the WebSocket headers, the Origin allow-list, the
    /// handshake hook and the connection limit — and returns the
    /// `101 Switching Protocols` response to send, with the data the hook
    /// attached. Then hand the upgraded byte stream and that data to
    /// [`Server::serve_upgraded`].
    ///
    /// # Errors
    ///
    /// The [`Rejection`] to answer with instead (its
    /// [`to_response`](Rejection::to_response) is the whole answer): 400 for
    /// a malformed or ambiguous upgrade, 404 off the configured path, 426
    /// for a request that is no upgrade or not version 13, 401/403 from the
    /// Origin list or the hook, 429 at the connection limit.
    pub fn accept_upgrade(
        &self,
        request: &http::Request<()>,
        remote_addr: Option<SocketAddr>,
    ) -> Result<(http::Response<()>, Extensions), Rejection> {
        if self.connection_count() >= self.shared.builder.max_connections {
            request::check(request, self.shared.builder.path.as_deref())
                .inspect_err(|_| telemetry::connection_refused("request"))?;
            telemetry::connection_refused("limit");
            return Err(Rejection::too_many("too many connections"));
        }
        self.admit(request, remote_addr)
    }

    /// Serves an upgraded stream in a place already taken.
    pub(crate) async fn serve_upgraded_in<S>(
        &self,
        slot: Slot,
        io: S,
        remote_addr: Option<SocketAddr>,
        extensions: Extensions,
    ) -> Peer
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let socket =
            WebSocketStream::from_raw_socket(io, Role::Server, Some(self.shared.ws_config)).await;
        serve(slot, socket, remote_addr, extensions)
    }

    /// The checks of an upgrade after the connection limit.
    fn admit(
        &self,
        request: &http::Request<()>,
        remote_addr: Option<SocketAddr>,
    ) -> Result<(http::Response<()>, Extensions), Rejection> {
        let key = request::check(request, self.shared.builder.path.as_deref())
            .inspect_err(|_| telemetry::connection_refused("request"))?;
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
///
/// # Examples
///
/// ```
/// use wirecall::{Router, Server};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let handle = Server::builder().build(Router::new()).bind("127.0.0.1:0").await?;
/// assert_ne!(handle.local_addr().port(), 0);
/// assert_eq!(handle.server().connection_count(), 0);
/// // Stop accepting, let calls in flight finish, close every connection.
/// handle.shutdown().await;
/// # Ok(()) }
/// ```
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

/// Binds the first of `addr`'s addresses that works, with `backlog`.
async fn listen(addr: impl ToSocketAddrs, backlog: u32) -> std::io::Result<TcpListener> {
    let mut last_error = None;
    for addr in tokio::net::lookup_host(addr).await? {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        // As `TcpListener::bind` does: a restarted server can take its port
        // back while old connections linger in TIME_WAIT.
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(backlog)) {
            Ok(listener) => return Ok(listener),
            Err(err) => last_error = Some(err),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to bind")
    }))
}
