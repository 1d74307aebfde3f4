//! From a TCP connection to a running engine: the accept loop, TLS, the
//! upgrade with its checks, and the slot each connection holds.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use super::request::{self, Prefixed, Refused};
use super::{plain_http, Rejection, Server, Shared};
use crate::io::Connection;
use crate::router::Extensions;
use crate::session::Peer;
use crate::telemetry;

/// One place among `max_connections`, given back when dropped.
pub(crate) struct Slot {
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

/// Reads and checks the upgrade request, answers it, and on success runs
/// the engine on the socket.
async fn handshake<S>(shared: Arc<Shared>, mut stream: S, remote_addr: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let server = Server {
        shared: shared.clone(),
    };
    let timeout = shared.builder.handshake_timeout;
    let upgraded = tokio::time::timeout(timeout, async {
        let (request, head, rest) = request::read(&mut stream).await.inspect_err(|refused| {
            if matches!(refused, Refused::Http(_)) {
                telemetry::connection_refused("request");
            }
        })?;
        if !request::asks_for_websocket(&request) {
            // Plain HTTP: hyper reads this request again, and the next.
            let mut read = head;
            read.extend_from_slice(&rest);
            return Ok(Route::Http(read));
        }
        let Some(slot) = Slot::take(&shared) else {
            request::check(&request, shared.builder.path.as_deref())
                .inspect_err(|_| telemetry::connection_refused("request"))
                .map_err(Refused::Http)?;
            telemetry::connection_refused("limit");
            return Err(Refused::Http(Rejection::too_many("too many connections")));
        };
        let (response, extensions) = server
            .admit(&request, Some(remote_addr))
            .map_err(Refused::Http)?;
        request::answer(&mut stream, &response.map(|()| []))
            .await
            .map_err(Refused::Io)?;
        Ok(Route::WebSocket(slot, extensions, rest))
    })
    .await;
    let refusal = match upgraded {
        Ok(Ok(Route::Http(read))) => {
            let stream = Prefixed::new(stream, read);
            return plain_http::serve_connection(server, stream, remote_addr).await;
        }
        Ok(Ok(Route::WebSocket(slot, extensions, rest))) => {
            let socket = WebSocketStream::from_raw_socket(
                Prefixed::new(stream, rest),
                Role::Server,
                Some(shared.ws_config),
            )
            .await;
            serve(slot, socket, Some(remote_addr), extensions);
            return;
        }
        Ok(Err(Refused::Http(rejection))) => rejection,
        Ok(Err(Refused::Io(err))) => {
            return tracing::debug!(%err, %remote_addr, "upgrade failed");
        }
        Err(_) => return tracing::debug!(%remote_addr, "upgrade timed out"),
    };
    tracing::debug!(status = refusal.status(), reason = refusal.reason(), %remote_addr, "upgrade refused");
    let answered = tokio::time::timeout(timeout, async {
        request::answer(&mut stream, &refusal.to_response()).await?;
        stream.shutdown().await
    });
    let _ = answered.await;
}

/// Where a connection's first request goes.
enum Route {
    /// Upgraded: the engine runs on the rest of the stream.
    WebSocket(Slot, Extensions, Vec<u8>),
    /// Plain HTTP, with the bytes read so far.
    Http(Vec<u8>),
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
    telemetry::connection_accepted();
    let shared = slot.shared.clone();
    let key = shared.next_peer.fetch_add(1, Ordering::Relaxed);
    let mut slot = slot;
    slot.key = Some(key);
    let peer = Connection::new(shared.router.clone())
        .config(shared.connection.clone())
        .remote_addr(remote_addr)
        .extensions(extensions)
        .graceful_shutdown(shared.drain.clone(), shared.builder.shutdown_deadline)
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
