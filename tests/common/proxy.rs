//! A TCP proxy for tests, on 127.0.0.1 port 0, that can do to connections
//! what networks do: cut them (a reset, as when a NAT or load balancer
//! forgets them), stall them (bytes stop, the socket stays open), and
//! refuse new ones (a server that is down), and send new ones elsewhere.

#![allow(dead_code)] // shared by several test crates

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The proxy's handle; dropping it stops the proxy and cuts every link.
pub(crate) struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accepting: tokio::task::JoinHandle<()>,
}

struct Shared {
    upstream: Mutex<SocketAddr>,
    /// Cancelled to cut the links open now; replaced by a fresh token.
    cut: Mutex<CancellationToken>,
    refusing: AtomicBool,
    stalled: watch::Sender<bool>,
    live: AtomicUsize,
    accepted: AtomicUsize,
}

impl Proxy {
    /// Forwards 127.0.0.1:<new port> to `upstream`.
    pub(crate) async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream: Mutex::new(upstream),
            cut: Mutex::new(CancellationToken::new()),
            refusing: AtomicBool::new(false),
            stalled: watch::Sender::new(false),
            live: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
        });
        let accepting = tokio::spawn(accept(listener, shared.clone()));
        Proxy {
            addr,
            shared,
            accepting,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Sends new connections to `upstream` from now on (a load balancer
    /// taking a dead node out).
    pub(crate) fn set_upstream(&self, upstream: SocketAddr) {
        *self.shared.upstream.lock().unwrap() = upstream;
    }

    /// Resets every link open now, both sides.
    pub(crate) fn cut(&self) {
        let mut cut = self.shared.cut.lock().unwrap();
        cut.cancel();
        *cut = CancellationToken::new();
    }

    /// While true, new connections are reset as soon as they arrive.
    pub(crate) fn refuse(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// While true, no byte moves either way; sockets stay open.
    pub(crate) fn stall(&self, stalled: bool) {
        self.shared.stalled.send_replace(stalled);
    }

    /// Links open now.
    pub(crate) fn live(&self) -> usize {
        self.shared.live.load(Ordering::SeqCst)
    }

    /// Connections forwarded so far.
    pub(crate) fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if shared.refusing.load(Ordering::SeqCst) {
            let _ = client.set_zero_linger();
            continue;
        }
        let upstream = *shared.upstream.lock().unwrap();
        let Ok(server) = TcpStream::connect(upstream).await else {
            let _ = client.set_zero_linger();
            continue;
        };
        let cut = shared.cut.lock().unwrap().clone();
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        shared.live.fetch_add(1, Ordering::SeqCst);
        let shared = shared.clone();
        tokio::spawn(async move {
            link(client, server, &cut, shared.stalled.subscribe()).await;
            shared.live.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Moves bytes both ways until both sides are done or the link is cut.
async fn link(
    mut client: TcpStream,
    mut server: TcpStream,
    cut: &CancellationToken,
    stalled: watch::Receiver<bool>,
) {
    let was_cut = {
        let (mut client_read, mut client_write) = client.split();
        let (mut server_read, mut server_write) = server.split();
        let both = async {
            tokio::join!(
                pump(&mut client_read, &mut server_write, stalled.clone()),
                pump(&mut server_read, &mut client_write, stalled.clone()),
            )
        };
        // A cut wins over bytes that became ready at the same moment.
        tokio::select! {
            biased;
            () = cut.cancelled() => true,
            _ = both => false,
        }
    };
    if was_cut {
        // A zero linger makes the close a reset: neither side gets a FIN.
        let _ = client.set_zero_linger();
        let _ = server.set_zero_linger();
    }
}

/// Copies one direction, pausing while stalled; passes the end on.
async fn pump<R, W>(from: &mut R, to: &mut W, mut stalled: watch::Receiver<bool>)
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if stalled.wait_for(|stalled| !*stalled).await.is_err() {
            return;
        }
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => {
                if stalled.wait_for(|stalled| !*stalled).await.is_err() {
                    return;
                }
                if to.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}
