//! From a TCP connection to a running engine: the accept loop, TLS, the
//! upgrade with its checks, and the slot each connection holds.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::WebSocketStream;

use super::{handshake, Rejection, Shared};
use crate::io::Connection;
use crate::router::Extensions;
use crate::session::Peer;

/// One place among `max_connections`, given back when dropped.
pub(super) struct Slot {
    shared: Arc<Shared>,
    /// The connection's entry in the server's peer list, once it has one.
    key: Option<u64>,
}

impl Slot {
    /// A slot if fewer than `max_connections` are taken; refused handshakes
    /// never count, even for a moment.
    pub(super) fn take(shared: &Arc<Shared>) -> Option<Slot> {
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

    pub(super) fn take_unchecked(shared: Arc<Shared>) -> Slot {
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

pub(super) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
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
pub(super) fn serve<S>(
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
    let peer = Connection::new(shared.router.clone())
        .config(shared.connection.clone())
        .remote_addr(remote_addr)
        .extensions(extensions)
        .graceful_shutdown(shared.drain.child_token(), shared.builder.shutdown_deadline)
        // Gives back the slot and the peer-list entry.
        .on_end(move || drop(slot))
        .spawn(socket);
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
