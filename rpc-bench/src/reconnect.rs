//! `rpc-bench reconnect --clients N`: N reconnecting clients follow one
//! topic while the WebSocket server restarts under them, and the run
//! reports how long until every subscription was live again and how many
//! items were lost.
//!
//! The server, the topic bus and the clients share this process: the
//! server (listener and every connection) is shut down and bound again on
//! the same port, while the bus — what a Redis or another shared bus is in
//! a real deployment — keeps its history, so a resume can replay what was
//! published during the outage. With `--lose-history` the bus restarts
//! too, and each client must be told its stream restarted. Every item is
//! checked in order; a duplicate or an unreported loss is a failure.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use wirecall::bus::{self, InProcessBus, TopicMethods};
use wirecall::client::ReconnectPolicy;
use wirecall::{Client, Router, Server, ServerHandle, SubscriptionEvent};

/// Items published per second on the topic, before, during and after.
const RATE: u64 = 20;

fn router(bus: Arc<InProcessBus>) -> Router {
    let mut router = Router::new();
    let methods = TopicMethods {
        subscribe: "follow",
        notification: "tick",
        unsubscribe: "unfollow",
    };
    bus::serve_topic(&mut router, methods, bus, |_| Ok("ticks".into())).expect("one registration");
    router
}

async fn serve(bus: Arc<InProcessBus>, addr: &str) -> ServerHandle {
    Server::builder()
        .max_connections(100_000)
        .shutdown_deadline(Duration::from_millis(200))
        .build(router(bus))
        .bind(addr)
        .await
        .expect("the server binds")
}

fn bus() -> Arc<InProcessBus> {
    Arc::new(InProcessBus::default().with_history(100_000, Duration::from_secs(300)))
}

/// What one client's reader reports when it stops.
#[derive(Default)]
struct Tally {
    items: u64,
    missed: u64,
    restarted: u64,
    failures: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.items += other.items;
        self.missed += other.missed;
        self.restarted += other.restarted;
        self.failures.extend(other.failures);
    }
}

/// Reads one client's subscription: items in order, one at a time; every
/// loss accounted for. Says when it has resumed after the restart.
async fn read(
    client: Client,
    resumed: mpsc::UnboundedSender<Instant>,
    stop_after: Arc<AtomicU64>,
) -> Tally {
    let mut tally = Tally::default();
    let mut stream = match client.subscribe::<u64>("follow", (), "unfollow").await {
        Ok(stream) => stream,
        Err(err) => {
            tally.failures.push(format!("subscribe: {err}"));
            return tally;
        }
    };
    let mut last: Option<u64> = None;
    let mut owed = 0u64;
    let mut quiet = Duration::ZERO;
    loop {
        let stop = stop_after.load(Ordering::Acquire);
        if last.is_some_and(|last| last + 1 >= stop) {
            return tally;
        }
        let event = match tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
            Ok(Some(event)) => event,
            Ok(None) => {
                tally.failures.push("the stream ended".into());
                return tally;
            }
            Err(_) => {
                quiet += Duration::from_millis(200);
                if quiet > Duration::from_secs(30) {
                    tally
                        .failures
                        .push(format!("no event for 30 s after {last:?}"));
                    return tally;
                }
                continue;
            }
        };
        quiet = Duration::ZERO;
        match event {
            SubscriptionEvent::Item(n) => {
                // The first item may be any: the subscription started live.
                if let Some(prev) = last {
                    if n != prev + 1 + owed {
                        tally
                            .failures
                            .push(format!("item {n} after {prev} (gap {owed})"));
                    }
                }
                owed = 0;
                last = Some(n);
                tally.items += 1;
            }
            SubscriptionEvent::Resumed => {
                let _ = resumed.send(Instant::now());
            }
            SubscriptionEvent::Gap(n) => {
                owed += n;
                tally.missed += n;
                let _ = resumed.send(Instant::now());
            }
            SubscriptionEvent::Restarted => {
                // New epoch: what came between is unknown; items go on from
                // the new bus's own numbering.
                tally.restarted += 1;
                last = None;
                let _ = resumed.send(Instant::now());
            }
            other => tally.failures.push(format!("unexpected {other:?}")),
        }
    }
}

/// A reconnecting client that counts, in `attempts`, how many attempts its
/// reconnects take.
async fn connect(url: &str, attempts: Arc<Vec<AtomicU64>>) -> Result<Client, String> {
    Client::builder()
        .on_connection_event(move |event| {
            if let wirecall::ConnectionEvent::Reconnected { attempts: n } = event {
                attempts[(*n as usize).min(attempts.len() - 1)].fetch_add(1, Ordering::Relaxed);
            }
        })
        .call_timeout(Duration::from_secs(30))
        .reconnect(
            ReconnectPolicy::default()
                .initial_delay(Duration::from_millis(100))
                .max_delay(Duration::from_secs(2)),
        )
        .connect(url)
        .await
        .map_err(|err| format!("connecting: {err}"))
}

/// Publishes 0, 1, 2… at `RATE` on the current bus until aborted.
async fn publish(current: Arc<Mutex<Arc<InProcessBus>>>, published: Arc<AtomicU64>) {
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / RATE));
    loop {
        tick.tick().await;
        let bus = current.lock().unwrap().clone();
        let n = published.fetch_add(1, Ordering::AcqRel);
        if bus::publish(&*bus, "ticks", &n).await.is_err() {
            return;
        }
    }
}

/// When each subscription said it was back, from `restart`.
async fn wait_until_back(
    resumed: &mut mpsc::UnboundedReceiver<Instant>,
    clients: usize,
    restart: Instant,
) -> Result<Vec<Duration>, String> {
    let mut back = Vec::with_capacity(clients);
    while back.len() < clients {
        match tokio::time::timeout(Duration::from_secs(60), resumed.recv()).await {
            Ok(Some(at)) => back.push(at.duration_since(restart)),
            _ => {
                return Err(format!(
                    "only {} of {clients} subscriptions came back in 60 s",
                    back.len()
                ))
            }
        }
    }
    Ok(back)
}

/// "1733 after 1, 267 after 2".
fn attempts_taken(attempts: &[AtomicU64]) -> String {
    let took: Vec<String> = attempts
        .iter()
        .enumerate()
        .filter(|(_, n)| n.load(Ordering::Relaxed) > 0)
        .map(|(attempt, n)| format!("{} after {attempt}", n.load(Ordering::Relaxed)))
        .collect();
    took.join(", ")
}

/// Runs the scenario; `Err` lists broken invariants.
pub(crate) async fn run(clients: usize, lose_history: bool) -> Result<(), String> {
    let mut bus = bus();
    let server = serve(bus.clone(), "127.0.0.1:0").await;
    let addr = server.local_addr().to_string();
    let url = format!("ws://{addr}/");
    println!(
        "reconnect: {clients} clients follow one topic ({RATE} items/s); the server restarts {}",
        if lose_history {
            "and the bus loses its history"
        } else {
            "while the bus keeps its history"
        }
    );

    let connecting = Instant::now();
    let (resumed_tx, mut resumed_rx) = mpsc::unbounded_channel();
    let stop_after = Arc::new(AtomicU64::new(u64::MAX));
    // How many attempts each reconnect took: attempts[n] clients took n.
    let attempts: Arc<Vec<AtomicU64>> = Arc::new((0..16).map(|_| AtomicU64::new(0)).collect());
    let mut readers = Vec::with_capacity(clients);
    for _ in 0..clients {
        let client = connect(&url, attempts.clone()).await?;
        readers.push(tokio::spawn(read(
            client,
            resumed_tx.clone(),
            stop_after.clone(),
        )));
    }
    drop(resumed_tx);
    while server
        .server()
        .peers()
        .iter()
        .map(wirecall::Peer::served_subscriptions)
        .sum::<usize>()
        < clients
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("  {clients} subscribed in {:.2?}", connecting.elapsed());

    // Publish throughout; the publisher follows whichever bus is current.
    let current = Arc::new(Mutex::new(bus.clone()));
    let published = Arc::new(AtomicU64::new(0));
    let publishing = tokio::spawn(publish(current.clone(), published.clone()));
    tokio::time::sleep(Duration::from_secs(2)).await;

    let restart = Instant::now();
    server.shutdown().await;
    drop(server);
    let down_for = restart.elapsed();
    if lose_history {
        bus = self::bus();
        *current.lock().unwrap() = bus.clone();
    }
    let server = serve(bus.clone(), &addr).await;
    let rebound = restart.elapsed();
    let mut back = wait_until_back(&mut resumed_rx, clients, restart).await?;
    back.sort();
    let all_back = back[back.len() - 1];
    let median = back[back.len() / 2];
    let p99 = back[(back.len() * 99 / 100).min(back.len() - 1)];

    // Let it run on, then read to the same last item everywhere.
    tokio::time::sleep(Duration::from_secs(2)).await;
    publishing.abort();
    let last = published.load(Ordering::Acquire);
    stop_after.store(last, Ordering::Release);
    let mut total = Tally::default();
    for reader in readers {
        total.add(
            reader
                .await
                .map_err(|err| format!("a reader panicked: {err}"))?,
        );
    }
    drop(server);

    println!("  shutdown took {down_for:.2?}, listening again after {rebound:.2?}");
    println!("  reconnected: {}", attempts_taken(&attempts));
    println!(
        "  subscriptions live again: median {median:.2?}, p99 {p99:.2?}, all {all_back:.2?} after the restart began"
    );
    println!(
        "  {last} items published; {} delivered in all, {} reported lost, {} streams told they restarted",
        total.items, total.missed, total.restarted
    );
    if !lose_history && (total.missed > 0 || total.restarted > 0) {
        total.failures.push(format!(
            "history covered the outage but {} items were lost",
            total.missed
        ));
    }
    if total.failures.is_empty() {
        println!("  every item in order, none doubled, every loss reported");
        Ok(())
    } else {
        total.failures.truncate(20);
        Err(total.failures.join("\n"))
    }
}
