//! The client side of every scenario, for each kind of server.

use std::collections::VecDeque;
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use jsonrpsee_core::client::{ClientT, SubscriptionClientT};
use jsonrpsee_core::params::BatchRequestBuilder;
use jsonrpsee_core::rpc_params;
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use wirecall::client::Client;
use wirecall::Batch;
use wirecall::SubscriptionEvent;

use crate::measure::Outcome;

/// Which server (and matching client) a workload runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Raw,
    Jsonrpsee,
    Wirecall,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::Jsonrpsee => "jsonrpsee",
            Kind::Wirecall => "wirecall",
        }
    }
}

/// The `add(1, 2)` request every server answers (the echo server echoes it).
const ADD: &str = r#"{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}"#;

/// One connection of whichever library's own client.
#[derive(Clone)]
enum RpcClient {
    Jsonrpsee(Arc<WsClient>),
    Wirecall(Client),
}

impl RpcClient {
    async fn connect(kind: Kind, url: &str) -> RpcClient {
        match kind {
            Kind::Jsonrpsee => RpcClient::Jsonrpsee(Arc::new(
                WsClientBuilder::default()
                    .max_concurrent_requests(4096)
                    .build(url)
                    .await
                    .expect("jsonrpsee connects"),
            )),
            _ => RpcClient::Wirecall(Client::connect(url).await.expect("wirecall connects")),
        }
    }

    async fn add(&self) {
        let sum: i64 = match self {
            RpcClient::Jsonrpsee(client) => {
                client.request("add", rpc_params![1, 2]).await.expect("add")
            }
            RpcClient::Wirecall(client) => client.call("add", [1, 2]).await.expect("add"),
        };
        assert_eq!(sum, 3);
    }

    async fn add_batch(&self, size: usize) {
        match self {
            RpcClient::Jsonrpsee(client) => {
                let mut batch = BatchRequestBuilder::new();
                for _ in 0..size {
                    batch.insert("add", rpc_params![1, 2]).expect("params");
                }
                let answers = client.batch_request::<i64>(batch).await.expect("batch");
                assert_eq!(answers.num_successful_calls(), size);
            }
            RpcClient::Wirecall(client) => {
                let mut batch = Batch::new();
                let slots: Vec<_> = (0..size)
                    .map(|_| batch.call::<i64>("add", [1, 2]).expect("params"))
                    .collect();
                let mut answers = client.batch(batch).await.expect("batch");
                for slot in &slots {
                    assert_eq!(answers.take(slot).expect("answer"), 3);
                }
            }
        }
    }
}

/// How the calls of a workload are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// The same bare WebSocket client against every server: compares servers.
    Raw,
    /// Each library's own client (the raw echo keeps the bare client).
    Own,
}

/// Calls `add` `total` times over `conns` connections with `in_flight`
/// outstanding per connection; `batch` > 1 sends batches of that many.
pub(crate) async fn calls(
    kind: Kind,
    caller: Caller,
    url: &str,
    conns: usize,
    in_flight: usize,
    total: u64,
    batch: usize,
) -> Outcome {
    let per_conn = total / conns as u64;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let url = url.to_owned();
        tasks.push(tokio::spawn(async move {
            if kind == Kind::Raw || caller == Caller::Raw {
                raw_pipeline(&url, in_flight, per_conn, batch).await
            } else {
                rpc_calls(kind, &url, in_flight, per_conn, batch).await
            }
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a workload task"));
    }
    let elapsed = started.elapsed();
    Outcome {
        ops: per_conn * conns as u64 * batch as u64,
        elapsed,
        latencies,
        ..Outcome::default()
    }
}

async fn rpc_calls(
    kind: Kind,
    url: &str,
    in_flight: usize,
    total: u64,
    batch: usize,
) -> Vec<Duration> {
    let client = RpcClient::connect(kind, url).await;
    let left = Arc::new(AtomicU64::new(total));
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (client, left) = (client.clone(), left.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                let start = Instant::now();
                if batch > 1 {
                    client.add_batch(batch).await;
                } else {
                    client.add().await;
                }
                latencies.push(start.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.expect("a worker"));
    }
    latencies
}

fn small_buffers() -> WebSocketConfig {
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = 4096;
    config.write_buffer_size = 0;
    config
}

/// Round trips on one bare socket, `in_flight` outstanding at a time (the
/// latency assumes answers in order, which holds for these handlers).
async fn raw_pipeline(url: &str, in_flight: usize, total: u64, batch: usize) -> Vec<Duration> {
    let (socket, _) =
        tokio_tungstenite::connect_async_with_config(url, Some(small_buffers()), true)
            .await
            .expect("raw connects");
    let (mut sink, mut stream) = socket.split();
    let frame = if batch > 1 {
        format!("[{}]", vec![ADD; batch].join(","))
    } else {
        ADD.to_owned()
    };
    let sent: Arc<Mutex<VecDeque<Instant>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(in_flight));
    let writer = {
        let (sent, permits) = (sent.clone(), permits.clone());
        tokio::spawn(async move {
            for _ in 0..total {
                permits.acquire().await.expect("open").forget();
                sent.lock().expect("lock").push_back(Instant::now());
                sink.send(Message::text(frame.clone())).await.expect("send");
            }
            sink
        })
    };
    let mut latencies = Vec::with_capacity(total as usize);
    for _ in 0..total {
        match stream.next().await {
            Some(Ok(Message::Text(_))) => {}
            other => panic!("raw echo ended: {other:?}"),
        }
        let start = sent.lock().expect("lock").pop_front().expect("a send time");
        latencies.push(start.elapsed());
        permits.add_permits(1);
    }
    drop(writer.await);
    latencies
}

/// One subscriber receives `count` items pushed as fast as the server can.
pub(crate) async fn subscription(kind: Kind, url: &str, count: u64) -> Outcome {
    let quiet = Duration::from_secs(3);
    let started = Instant::now();
    let (mut received, mut reported, mut last) = (0u64, 0u64, started);
    let mut note = String::new();
    match RpcClient::connect(kind, url).await {
        RpcClient::Wirecall(client) => {
            let mut items = client
                .subscribe::<u64>("subscribe_items", [count], "unsubscribe_items")
                .await
                .expect("subscribe");
            while let Ok(Some(event)) = tokio::time::timeout(quiet, items.next()).await {
                match event {
                    SubscriptionEvent::Item(_) => {
                        received += 1;
                        last = Instant::now();
                    }
                    SubscriptionEvent::Lagged(n) => reported += n,
                    _ => break,
                }
                if received + reported >= count {
                    break;
                }
            }
        }
        RpcClient::Jsonrpsee(client) => {
            let mut items = client
                .subscribe::<u64, _>("subscribe_items", rpc_params![count], "unsubscribe_items")
                .await
                .expect("subscribe");
            loop {
                match tokio::time::timeout(quiet, items.next()).await {
                    Ok(Some(Ok(_))) => {
                        received += 1;
                        last = Instant::now();
                    }
                    Ok(Some(Err(err))) => {
                        note = format!("error: {err}; ");
                        break;
                    }
                    Ok(None) => {
                        note = "dropped by the client; ".into();
                        break;
                    }
                    Err(_) => break,
                }
                if received >= count {
                    break;
                }
            }
        }
    }
    let silent = count - received - reported;
    let _ = write!(
        note,
        "received {received}, reported lagged {reported}, silently lost {silent}"
    );
    Outcome {
        ops: received,
        elapsed: last - started,
        note,
        figure: Some(silent as f64),
        ..Outcome::default()
    }
}

/// `subs_per_conn` subscriptions on each of `conns` connections, then one
/// publish; the time until every subscription has the item.
pub(crate) async fn fan_out(kind: Kind, url: &str, conns: usize, subs_per_conn: usize) -> Outcome {
    let total = conns * subs_per_conn;
    let arrived = Arc::new(AtomicUsize::new(0));
    let all = Arc::new(Notify::new());
    let mut keep = Vec::new();
    for _ in 0..conns {
        let client = RpcClient::connect(kind, url).await;
        for _ in 0..subs_per_conn {
            let (arrived, all) = (arrived.clone(), all.clone());
            let task = match &client {
                RpcClient::Wirecall(client) => {
                    let mut topic = client
                        .subscribe::<u64>("subscribe_topic", (), "unsubscribe_topic")
                        .await
                        .expect("subscribe");
                    tokio::spawn(async move {
                        if let Some(SubscriptionEvent::Item(_)) = topic.next().await {
                            if arrived.fetch_add(1, Ordering::AcqRel) + 1 == total {
                                all.notify_one();
                            }
                        }
                        drop(topic);
                    })
                }
                RpcClient::Jsonrpsee(client) => {
                    let mut topic = client
                        .subscribe::<u64, _>("subscribe_topic", rpc_params![], "unsubscribe_topic")
                        .await
                        .expect("subscribe");
                    tokio::spawn(async move {
                        if let Some(Ok(_)) = topic.next().await {
                            if arrived.fetch_add(1, Ordering::AcqRel) + 1 == total {
                                all.notify_one();
                            }
                        }
                        drop(topic);
                    })
                }
            };
            keep.push(task);
        }
        keep.push(tokio::spawn(async move {
            // Keeps the connection open until the run ends.
            std::future::pending::<()>().await;
            drop(client);
        }));
    }
    let publisher = RpcClient::connect(kind, url).await;
    let started = Instant::now();
    // wirecall answers the value, jsonrpsee the number of receivers.
    let _answer: u64 = match &publisher {
        RpcClient::Wirecall(client) => client.call::<u64>("publish", [7]).await.expect("publish"),
        RpcClient::Jsonrpsee(client) => client
            .request::<u64, _>("publish", rpc_params![7])
            .await
            .expect("publish"),
    };
    let done = tokio::time::timeout(Duration::from_secs(60), all.notified())
        .await
        .is_ok();
    let elapsed = started.elapsed();
    for task in keep {
        task.abort();
    }
    let got = arrived.load(Ordering::Acquire);
    let note = if done {
        format!("{got} of {total} subscriptions")
    } else {
        format!("only {got} of {total} within 60 s")
    };
    Outcome {
        ops: got as u64,
        elapsed,
        note,
        figure: Some(elapsed.as_secs_f64() * 1e3),
        ..Outcome::default()
    }
}

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
    tokio_tungstenite::client_async_with_config(url, tcp, Some(small_buffers()))
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
) -> Outcome {
    let url = format!("ws://{server}/");
    let probe_before = calls(kind, Caller::Own, &url, 1, 1, 50, 1).await;
    drop(probe_before);
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
    let mut probe = calls(kind, Caller::Own, &url, 1, 1, 200, 1).await;
    let p50 = probe.percentile_us(0.5).unwrap_or(0.0);
    let per_conn = after.saturating_sub(before) as f64 / open.max(1) as f64;
    drop(opened);
    let note = format!("{open} open, {per_conn:.1} KiB/conn (RSS {before} → {after} KiB), call p50 while open {p50:.0} µs");
    Outcome {
        ops: open as u64,
        elapsed,
        note,
        figure: Some(per_conn),
        ..Outcome::default()
    }
}

/// Full WebSocket handshakes per second, `parallel` at a time.
pub(crate) async fn connect_rate(server: SocketAddr, count: usize, parallel: usize) -> Outcome {
    let gate = Arc::new(Semaphore::new(parallel));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count);
    for n in 0..count {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.expect("open");
            let start = Instant::now();
            let mut ws = open_raw(server, source(1, n)).await.expect("handshake");
            let latency = start.elapsed();
            let _ = ws.close(None).await;
            latency
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    for task in tasks {
        latencies.push(task.await.expect("a handshake task"));
    }
    Outcome {
        ops: count as u64,
        elapsed: started.elapsed(),
        latencies,
        ..Outcome::default()
    }
}
