//! Connections that sit idle (server memory per connection) and the
//! handshake rate.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::bare;
use crate::measure::Outcome;
use crate::servers::Kind;

/// The source address for the n-th connection of a scenario (`net` keeps
/// scenarios apart): 10 000 per address, so ephemeral ports never run out.
fn source(net: u8, n: usize) -> SocketAddr {
    let host = 2 + (n / 10_000) as u8;
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, net, 0, host)), 0)
}

/// Opens one raw WebSocket from `from`.
async fn open_raw(
    server: SocketAddr,
    from: SocketAddr,
) -> Option<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let socket = tokio::net::TcpSocket::new_v4().ok()?;
    // Ports of earlier runs may still sit in TIME_WAIT; and closing with a
    // reset leaves none behind, so later plain connects find free ports.
    socket.set_reuseaddr(true).ok()?;
    #[allow(deprecated)]
    socket.set_linger(Some(Duration::ZERO)).ok()?;
    socket.bind(from).ok()?;
    let tcp = socket.connect(server).await.ok()?;
    let url = format!("ws://{server}/");
    tokio_tungstenite::client_async_with_config(url, tcp, Some(bare::small_buffers()))
        .await
        .ok()
        .map(|(ws, _)| ws)
}

/// Server memory per idle connection with `count` of them open, and a
/// call's latency while they sit.
pub(crate) async fn idle_memory(
    kind: Kind,
    server: SocketAddr,
    server_pid: u32,
    count: usize,
) -> Result<Outcome, String> {
    let url = format!("ws://{server}/");
    bare::calls(kind, &url, 1, 1, 50, 1).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = crate::measure::rss_kib(server_pid);
    let started = Instant::now();
    let opened = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let gate = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::with_capacity(count);
    for n in 0..count {
        let (opened, gate) = (opened.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("open");
            if let Some(ws) = open_raw(server, source(0, n)).await {
                opened.lock().expect("lock").push(ws);
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = crate::measure::rss_kib(server_pid);
    let open = opened.lock().expect("lock").len();
    let mut probe = bare::calls(kind, &url, 1, 1, 200, 1).await?;
    let p50 = probe.percentile_us(0.5).unwrap_or(0.0);
    let per_conn = after.saturating_sub(before) as f64 / open.max(1) as f64;
    drop(opened);
    let note = format!("{open} open, {per_conn:.1} KiB/conn (RSS {before} → {after} KiB), call p50 while open {p50:.0} µs");
    Ok(Outcome {
        ops: open as u64,
        elapsed,
        note,
        figure: Some(per_conn),
        ..Outcome::default()
    })
}

/// Full WebSocket handshakes per second, `parallel` at a time.
pub(crate) async fn connect_rate(
    server: SocketAddr,
    count: usize,
    parallel: usize,
) -> Result<Outcome, String> {
    let gate = Arc::new(Semaphore::new(parallel));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for n in 0..count {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("open");
            let start = Instant::now();
            let mut ws = open_raw(server, source(1, n)).await?;
            let latency = start.elapsed();
            let _ = ws.close(None).await;
            Some(latency)
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    for task in tasks {
        let latency = task.await.map_err(|err| err.to_string())?;
        latencies.push(latency.ok_or("a handshake failed")?);
    }
    Ok(Outcome {
        ops: count as u64,
        elapsed: started.elapsed(),
        latencies,
        ..Outcome::default()
    })
}
