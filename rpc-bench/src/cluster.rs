//! `rpc-bench cluster-fanout`: one topic followed by 10 000 subscriptions
//! spread over two server nodes that share it through Redis, beside the
//! same subscriptions on one node through Redis and on one node with the
//! in-process bus. Reports the
//! time for one publish to reach every subscription and the items per
//! second delivered when publishing flat out. Every subscription checks
//! that its items arrive in order, once.
//!
//! The nodes, the clients and the benchmark share this process; Redis is a
//! `redis-server` the run starts on a free port and stops at the end.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wirecall::bus::{self, Bus, InProcessBus, RedisBus, TopicMethods};
use wirecall::{Client, Router, Server, ServerHandle, SubscriptionEvent};

/// Subscriptions per connection.
const PER_CONNECTION: usize = 50;
/// Single publishes timed one by one.
const PINGS: u64 = 20;
/// Items published flat out for the throughput figure.
const BURST: u64 = 200;

fn router(bus: Arc<dyn Bus>) -> Router {
    let mut router = Router::new();
    let methods = TopicMethods {
        subscribe: "follow",
        notification: "item",
        unsubscribe: "unfollow",
    };
    bus::serve_topic(&mut router, methods, bus, |_| Ok("fan".into())).expect("one registration");
    router
}

async fn serve(bus: Arc<dyn Bus>) -> ServerHandle {
    Server::builder()
        .max_connections(100_000)
        .max_subscriptions(PER_CONNECTION * 2)
        .build(router(bus))
        .bind("127.0.0.1:0")
        .await
        .expect("a node binds")
}

/// A `redis-server` on a free port, stopped when dropped.
struct RedisProcess {
    child: Child,
    port: u16,
}

impl RedisProcess {
    fn start() -> Result<RedisProcess, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|err| err.to_string())?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| {
                format!("redis-server did not start ({err}); apt-get install redis-server")
            })?;
        Ok(RedisProcess { child, port })
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the subscriptions count together.
struct Tally {
    /// Deliveries of item n, per n.
    reached: Vec<AtomicUsize>,
    failures: AtomicU64,
}

/// Opens `subscriptions` subscriptions over the nodes in turn, each read
/// by a task that checks order and counts deliveries.
async fn subscribe_all(
    urls: &[String],
    subscriptions: usize,
    tally: &Arc<Tally>,
) -> Result<Vec<Client>, String> {
    let mut clients = Vec::new();
    let connections = subscriptions.div_ceil(PER_CONNECTION);
    for c in 0..connections {
        let client = Client::connect(&urls[c % urls.len()])
            .await
            .map_err(|err| format!("connecting: {err}"))?;
        for _ in 0..PER_CONNECTION.min(subscriptions - c * PER_CONNECTION) {
            let mut stream = client
                .subscribe::<u64>("follow", (), "unfollow")
                .await
                .map_err(|err| format!("subscribing: {err}"))?;
            let tally = tally.clone();
            tokio::spawn(async move {
                let mut expected = 0u64;
                while let Some(event) = stream.next().await {
                    match event {
                        SubscriptionEvent::Item(n) if n == expected => {
                            tally.reached[n as usize].fetch_add(1, Ordering::AcqRel);
                            expected += 1;
                        }
                        _ => {
                            tally.failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        clients.push(client);
    }
    Ok(clients)
}

/// Waits until item `n` reached every subscription.
async fn reached_all(tally: &Tally, n: u64, subscriptions: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tally.reached[n as usize].load(Ordering::Acquire) < subscriptions {
        if Instant::now() > deadline {
            return Err(format!(
                "item {n} reached {} of {subscriptions} subscriptions in 60 s",
                tally.reached[n as usize].load(Ordering::Acquire)
            ));
        }
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    Ok(())
}

/// One setup measured: publish latency to all, then a burst.
async fn measure(
    label: &str,
    publish_on: &[Arc<dyn Bus>],
    urls: &[String],
    subscriptions: usize,
) -> Result<f64, String> {
    let tally = Arc::new(Tally {
        reached: (0..PINGS + BURST).map(|_| AtomicUsize::new(0)).collect(),
        failures: AtomicU64::new(0),
    });
    let clients = subscribe_all(urls, subscriptions, &tally).await?;
    let mut reach = Vec::new();
    for n in 0..PINGS {
        let bus = &publish_on[n as usize % publish_on.len()];
        let started = Instant::now();
        bus::publish(&**bus, "fan", &n)
            .await
            .map_err(|err| err.to_string())?;
        reached_all(&tally, n, subscriptions).await?;
        reach.push(started.elapsed());
    }
    reach.sort();
    let started = Instant::now();
    for n in PINGS..PINGS + BURST {
        let bus = &publish_on[n as usize % publish_on.len()];
        bus::publish(&**bus, "fan", &n)
            .await
            .map_err(|err| err.to_string())?;
    }
    reached_all(&tally, PINGS + BURST - 1, subscriptions).await?;
    let elapsed = started.elapsed();
    for n in PINGS..PINGS + BURST {
        reached_all(&tally, n, subscriptions).await?;
    }
    let rate = (BURST as f64 * subscriptions as f64) / elapsed.as_secs_f64();
    let failures = tally.failures.load(Ordering::Relaxed);
    println!(
        "  {label:<28} one publish to all: median {:>8.2?}, max {:>8.2?}; burst of {BURST}: {:>9.0} items/s delivered; {failures} out of order",
        reach[reach.len() / 2],
        reach[reach.len() - 1],
        rate
    );
    drop(clients);
    if failures > 0 {
        return Err(format!("{label}: {failures} items out of order or doubled"));
    }
    Ok(rate)
}

/// Runs both setups with `subscriptions` subscriptions; `Err` on a broken check.
pub(crate) async fn run(subscriptions: usize) -> Result<(), String> {
    let redis = RedisProcess::start()?;
    let url = format!("redis://127.0.0.1:{}/", redis.port);
    let mut nodes_bus: Vec<Arc<dyn Bus>> = Vec::new();
    let mut attempts = 0;
    while nodes_bus.len() < 2 {
        match RedisBus::builder(&url).connect().await {
            Ok(bus) => nodes_bus.push(Arc::new(bus)),
            Err(_) if attempts < 50 => {
                attempts += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => return Err(format!("connecting to Redis: {err}")),
        }
    }
    println!("cluster-fanout: {subscriptions} subscriptions to one topic, {PER_CONNECTION} per connection");
    let node_a = serve(nodes_bus[0].clone()).await;
    let node_b = serve(nodes_bus[1].clone()).await;
    let urls = [
        format!("ws://{}/", node_a.local_addr()),
        format!("ws://{}/", node_b.local_addr()),
    ];
    let clustered = measure("2 nodes + Redis", &nodes_bus, &urls, subscriptions).await?;
    // The same through Redis on one node: what the bus costs, apart from
    // splitting the work over two nodes.
    let lone = serve(nodes_bus[0].clone()).await;
    let url = [format!("ws://{}/", lone.local_addr())];
    measure("1 node + Redis", &nodes_bus[..1], &url, subscriptions).await?;

    let in_process: Arc<dyn Bus> = Arc::new(InProcessBus::default());
    let single = serve(in_process.clone()).await;
    let url = [format!("ws://{}/", single.local_addr())];
    let alone = measure("1 node, in-process bus", &[in_process], &url, subscriptions).await?;
    println!(
        "  ratio (2 nodes + Redis / 1 node): {:.2}x the delivery rate",
        clustered / alone
    );
    Ok(())
}
