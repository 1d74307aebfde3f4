//! The connection engine, the same for both ends of a WebSocket.
//!
//! Each socket gets exactly one I/O task, its only reader and only writer.
//! Answers it computes at once are written straight away; everything other
//! tasks produce — replies of waiting handlers, calls, subscription items —
//! passes through one bounded queue to it, so two writes can never race and
//! memory stays bounded.

mod config;
mod error;
mod params_builder;
mod peer;
mod reader;
mod session;
mod tables;
mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

pub use config::ConnectionConfig;
pub use error::{CallError, Closed};
pub use params_builder::{AsPeer, ParamsBuilder};
pub use peer::{Batch, BatchResponse, BatchSlot, Peer};
pub(crate) use session::Session;
pub(crate) use tables::ClientSubscriptionKey;

use crate::router::{Context, Extensions, Router};

/// Everything a new connection needs besides its socket.
#[derive(Clone)]
pub struct ConnectionParts {
    /// Handlers for calls the peer makes.
    pub router: Arc<Router>,
    /// Limits and timers.
    pub config: Arc<ConnectionConfig>,
    /// The peer's address, if known.
    pub remote_addr: Option<SocketAddr>,
    /// Cancelling this asks the connection to stop reading, finish its
    /// in-flight calls (up to `drain_deadline`) and close with code 1001.
    pub drain: CancellationToken,
    /// How long a graceful stop waits for in-flight calls.
    pub drain_deadline: Duration,
    /// Held for the connection's life and dropped when it has ended (the
    /// server keeps its connection slot here).
    pub guard: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for ConnectionParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionParts")
            .field("router", &self.router)
            .field("config", &self.config)
            .field("remote_addr", &self.remote_addr)
            .field("drain_deadline", &self.drain_deadline)
            .finish_non_exhaustive()
    }
}

impl ConnectionParts {
    /// Parts with the given router and default limits.
    pub fn new(router: Arc<Router>) -> ConnectionParts {
        ConnectionParts {
            router,
            config: Arc::new(ConnectionConfig::default()),
            remote_addr: None,
            drain: CancellationToken::new(),
            drain_deadline: Duration::from_secs(10),
            guard: None,
        }
    }
}

/// Numbers connections for [`Context::connection_id`]; 0 means "none".
static NEXT_CONNECTION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Runs the engine over an open WebSocket: spawns its I/O task and
/// returns the handle for calling the peer.
///
/// `extensions` become the per-connection data handlers see in their
/// [`Context`].
pub fn spawn<S>(socket: WebSocketStream<S>, parts: ConnectionParts, extensions: Extensions) -> Peer
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (session, queue) = Session::new(parts.config.clone());
    let peer = Peer {
        session: session.clone(),
    };
    let id = NEXT_CONNECTION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ctx = Context::with_peer(extensions, parts.remote_addr, Some(peer.clone()), id);
    let mut reader = reader::Reader::new(session, parts.router, ctx, parts.drain);
    reader.guard = parts.guard;
    tokio::spawn(reader.run(socket, queue, parts.drain_deadline));
    peer
}
