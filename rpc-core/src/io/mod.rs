//! The connection engine over any WebSocket, the same for both ends.
//!
//! Each socket gets exactly one I/O task, its only reader and only writer.
//! Answers it computes at once are written straight away; everything other
//! tasks produce — replies of waiting handlers, calls, subscription items —
//! passes through one bounded queue to it, so two writes can never race and
//! memory stays bounded. [`Connection`] starts that task over any stream of
//! WebSocket messages: the server and the client use it, and so can another
//! WebSocket stack or an in-memory test.

mod ending;
mod race;
mod task;
mod wake_gate;
mod writer;

use std::fmt::{self, Display};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, Sink, Stream};
pub use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
pub use tokio_util::sync::CancellationToken;
use tracing::Instrument;

pub use crate::session::ReconnectPolicy;

use crate::router::{Context, Extensions, Router};
use crate::session::link::{keep_connected, DurableLink, EventHook};
use crate::session::{ConnectionConfig, ConnectionEvent, Peer, Session};

/// What the engine runs over: anything that reads and writes tungstenite
/// messages (a `WebSocketStream` over TCP, TLS, an upgraded HTTP
/// connection, an in-memory pipe).
///
/// The engine reads only after the stream has woken the waker its last
/// pending `poll_next` was given, so a stream must keep that waker apart
/// from the one its sink side is polled with (as `WebSocketStream` and
/// every tokio socket do): a stream that woke only the latest waker of
/// either side would leave the connection unread.
pub trait Socket:
    Stream<Item = Result<WsMessage, WsError>>
    + Sink<WsMessage, Error = WsError>
    + Send
    + Unpin
    + 'static
{
}

impl<T> Socket for T where
    T: Stream<Item = Result<WsMessage, WsError>>
        + Sink<WsMessage, Error = WsError>
        + Send
        + Unpin
        + 'static
{
}

/// Numbers connections for [`Context::connection_id`]; 0 means "none".
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// A connection about to start: its router, limits and per-connection data.
/// [`Connection::spawn`] runs it over an open WebSocket.
///
/// The socket is anything that reads and writes tungstenite messages — a
/// `tokio_tungstenite::WebSocketStream` over TCP, TLS, an HTTP upgrade or an
/// in-memory pipe.
///
/// # Examples
///
/// Two ends over an in-memory pipe, no network:
///
/// ```
/// use tokio_tungstenite::tungstenite::protocol::Role;
/// use tokio_tungstenite::WebSocketStream;
/// use wirecall::io::Connection;
/// use wirecall::{Context, ErrorObject, Params, Router};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut router = Router::new();
/// router.method("add", |params: Params<'_>, _: &Context| {
///     let (a, b): (i64, i64) = params.parse()?;
///     Ok(async move { Ok::<_, ErrorObject>(a + b) })
/// })?;
/// let (left, right) = tokio::io::duplex(64 * 1024);
/// let server_end = WebSocketStream::from_raw_socket(left, Role::Server, None).await;
/// let client_end = WebSocketStream::from_raw_socket(right, Role::Client, None).await;
/// Connection::new(router).spawn(server_end);
/// let peer = Connection::new(Router::new()).spawn(client_end);
/// assert_eq!(peer.call::<i64>("add", [2, 3]).await?, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct Connection {
    router: Arc<Router>,
    config: Arc<ConnectionConfig>,
    remote_addr: Option<SocketAddr>,
    extensions: Extensions,
    shutdown: Option<(CancellationToken, Duration)>,
    on_end: Option<Box<dyn FnOnce() + Send>>,
    on_event: Option<EventHook>,
}

impl Connection {
    /// A connection whose peer's calls `router` answers, with default limits.
    pub fn new(router: impl Into<Arc<Router>>) -> Connection {
        Connection {
            router: router.into(),
            config: Arc::default(),
            remote_addr: None,
            extensions: Extensions::new(),
            shutdown: None,
            on_end: None,
            on_event: None,
        }
    }

    /// Limits and timers (shared by many connections through the `Arc`).
    #[must_use]
    pub fn config(mut self, config: impl Into<Arc<ConnectionConfig>>) -> Self {
        self.config = config.into();
        self
    }

    /// The peer's address, shown to handlers by [`Context::remote_addr`].
    #[must_use]
    pub fn remote_addr(mut self, addr: impl Into<Option<SocketAddr>>) -> Self {
        self.remote_addr = addr.into();
        self
    }

    /// Per-connection data handlers read through [`Context::get`] (an
    /// authenticated user, say).
    #[must_use]
    pub fn extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// When `signal` is cancelled the connection stops reading, lets calls in
    /// flight finish for up to `deadline`, writes their answers and closes
    /// with code 1001.
    #[must_use]
    pub fn graceful_shutdown(mut self, signal: CancellationToken, deadline: Duration) -> Self {
        self.shutdown = Some((signal, deadline));
        self
    }

    /// Runs `f` once the connection has ended and its task is done (the
    /// server gives back the connection's slot here).
    #[must_use]
    pub fn on_end(mut self, f: impl FnOnce() + Send + 'static) -> Self {
        self.on_end = Some(Box::new(f));
        self
    }

    /// Calls `hook` with each change of a reconnecting connection
    /// ([`Connection::spawn_reconnecting`]), on the task that reconnects;
    /// keep it short.
    #[must_use]
    pub fn on_connection_event(
        mut self,
        hook: impl Fn(&ConnectionEvent) + Send + Sync + 'static,
    ) -> Self {
        self.on_event = Some(Arc::new(hook));
        self
    }

    /// Starts the connection's I/O task on the current tokio runtime and
    /// returns the handle for calling the peer.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn<S: Socket>(self, socket: S) -> Peer {
        let on_end = self.on_end;
        let (session, task) = launch(
            &self.router,
            &self.config,
            self.extensions,
            self.remote_addr,
            self.shutdown,
            socket,
        );
        // `map`, not an async block around `task.await`: the block would hold
        // the task's future twice over.
        let fut = task.map(move |()| {
            if let Some(on_end) = on_end {
                on_end();
            }
        });
        crate::rt::spawn(fut);
        Peer::fixed(session)
    }

    /// Starts the connection over `socket` and keeps it going: whenever it
    /// drops, `dial` opens a new socket after a wait that `policy` sets, and
    /// the returned peer carries on over it. Calls made meanwhile wait (up
    /// to the call timeout); calls lost in flight fail with
    /// [`CallError::Disconnected`](crate::CallError::Disconnected) unless
    /// made with `call_idempotent`; every subscription is made again on the
    /// new connection, resuming where it left off when its items carry
    /// positions. Closing the peer stops it; `on_end` runs when it has
    /// stopped for good. Each connection starts with empty extensions and
    /// without a graceful-shutdown signal (those belong to a serving end).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn spawn_reconnecting<S, D, F, E>(self, socket: S, policy: ReconnectPolicy, dial: D) -> Peer
    where
        S: Socket,
        D: FnMut() -> F + Send + 'static,
        F: Future<Output = Result<S, E>> + Send + 'static,
        E: Display + 'static,
    {
        let Connection {
            router,
            config,
            remote_addr,
            on_end,
            on_event,
            ..
        } = self;
        let start = move |socket: S| {
            let (session, task) = launch(
                &router,
                &config,
                Extensions::new(),
                remote_addr,
                None,
                socket,
            );
            crate::rt::spawn(task);
            session
        };
        let first = start(socket);
        let link = DurableLink::new(first.config.clone(), first.clone(), on_event);
        let keep = keep_connected(link.clone(), first, policy, dial, start);
        crate::rt::spawn(async move {
            keep.await;
            if let Some(on_end) = on_end {
                on_end();
            }
        });
        Peer::durable(link)
    }
}

/// Builds a connection's session and its I/O task, not yet spawned.
fn launch<S: Socket>(
    router: &Arc<Router>,
    config: &Arc<ConnectionConfig>,
    extensions: Extensions,
    remote_addr: Option<SocketAddr>,
    shutdown: Option<(CancellationToken, Duration)>,
    socket: S,
) -> (Arc<Session>, impl Future<Output = ()> + Send + 'static) {
    let (session, queue) = Session::new(config.clone());
    let peer = Peer::fixed(session.clone());
    let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let ctx = Context::with_peer(extensions, remote_addr, Some(peer), id);
    let (drain, deadline) = shutdown.map_or((None, Duration::ZERO), |(signal, deadline)| {
        (Some(signal), deadline)
    });
    let task = task::IoTask::new(session.clone(), router.clone(), ctx, drain);
    // Every call's span (middleware::Trace) is a child of this one.
    let span = tracing::info_span!(
        "jsonrpc.connection",
        connection.id = id,
        network.peer.address = remote_addr.map(tracing::field::display),
    );
    (session, task.run(socket, queue, deadline).instrument(span))
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("router", &self.router)
            .field("config", &self.config)
            .field("remote_addr", &self.remote_addr)
            .field("graceful_shutdown", &self.shutdown.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
