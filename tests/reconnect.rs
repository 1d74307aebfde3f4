//! A reconnecting client over a proxy that cuts, stalls and refuses
//! connections: subscriptions carry on with every item once and in order,
//! or say exactly what they missed; calls wait for the connection, and only
//! idempotent ones are sent twice.

#[path = "common/proxy.rs"]
mod proxy;

#[path = "common/topics.rs"]
mod topics;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proxy::Proxy;
use tokio::sync::mpsc;
use wirecall::bus::{self, InProcessBus};
use wirecall::client::{ConnectionEvent, ReconnectPolicy};
use wirecall::{
    CallError, Client, ConnectionState, Context, ErrorObject, Params, PendingSubscription, Router,
    Server, ServerHandle, SinkConfig, Subscription, SubscriptionEvent,
};

/// `add(a, b)`; `follow`, the topic `numbers` of `bus`, resumable; and
/// `ticks`, 0, 1, 2… every 2 ms, without positions.
fn router(bus: Arc<InProcessBus>) -> Router {
    let mut router = Router::new();
    router
        .subscription(
            "ticks",
            "tick",
            "unticks",
            SinkConfig::default(),
            |_: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    for n in 0.. {
                        if sink.send(&n).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                })
            },
        )
        .unwrap()
        .method("add", |params: Params<'_>, _: &Context| {
            let (a, b): (i64, i64) = params.parse()?;
            Ok(async move { Ok::<_, ErrorObject>(a + b) })
        })
        .unwrap();
    topics::follow_numbers(&mut router, bus);
    router
}

async fn serve(bus: Arc<InProcessBus>, addr: &str) -> ServerHandle {
    Server::builder()
        .shutdown_deadline(Duration::from_millis(100))
        .build(router(bus))
        .bind(addr)
        .await
        .unwrap()
}

fn quick() -> ReconnectPolicy {
    ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(50))
}

/// A reconnecting client whose connection events arrive on the receiver.
async fn reconnecting(
    url: &str,
    call_timeout: Duration,
) -> (Client, mpsc::UnboundedReceiver<ConnectionEvent>) {
    let (events, received) = mpsc::unbounded_channel();
    let client = Client::builder()
        .call_timeout(call_timeout)
        .reconnect(quick())
        .on_connection_event(move |event| drop(events.send(event.clone())))
        .connect(url)
        .await
        .unwrap();
    (client, received)
}

async fn next<T: serde::de::DeserializeOwned>(
    stream: &mut Subscription<T>,
) -> SubscriptionEvent<T> {
    tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("an event in time")
        .expect("the stream is open")
}

/// Waits for the first event that `wanted` picks, skipping the others.
async fn wait_for(
    events: &mut mpsc::UnboundedReceiver<ConnectionEvent>,
    wanted: impl Fn(&ConnectionEvent) -> bool,
) -> ConnectionEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("a connection event in time")
            .expect("the client is alive");
        if wanted(&event) {
            return event;
        }
    }
}

/// A small random generator; the seed is printed so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn seeded() -> Lcg {
        let seed = std::env::var("RECONNECT_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
            });
        println!("RECONNECT_SEED={seed}");
        Lcg(seed)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// Publishes `range` on `numbers`, never more than `window` ahead of what
/// the subscriber has read (so the bus never drops for lag); gives up when
/// the subscriber stops reading for 20 s.
fn publish_paced(
    bus: Arc<InProcessBus>,
    range: std::ops::Range<u64>,
    read: Arc<AtomicU64>,
    window: u64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for n in range {
            let waiting = Instant::now();
            while n.saturating_sub(read.load(Ordering::Acquire)) >= window {
                assert!(
                    waiting.elapsed() < Duration::from_secs(20),
                    "the subscriber stopped reading at {}",
                    read.load(Ordering::Acquire)
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            bus::publish(&*bus, "numbers", &n).await.unwrap();
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_items_arrive_once_in_order_across_twenty_cuts() {
    const TOTAL: u64 = 100_000;
    const CUTS: u64 = 20;
    let bus = Arc::new(InProcessBus::default().with_history(200_000, Duration::from_secs(600)));
    let server = serve(bus.clone(), "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (client, mut events) = reconnecting(&proxy.url(), Duration::from_secs(10)).await;
    let mut stream = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .unwrap();

    // One cut at a random point in each twentieth of the stream.
    let mut random = Lcg::seeded();
    let stride = TOTAL / CUTS;
    let cut_at: Vec<u64> = (0..CUTS)
        .map(|i| i * stride + 1 + random.below(stride - 1))
        .collect();
    let read = Arc::new(AtomicU64::new(0));
    let publishing = publish_paced(bus.clone(), 0..TOTAL, read.clone(), 800);

    let started = Instant::now();
    let (mut expected, mut resumed, mut cuts) = (0u64, 0u64, 0usize);
    while expected < TOTAL || resumed < cuts as u64 {
        match next(&mut stream).await {
            SubscriptionEvent::Item(n) => {
                assert_eq!(n, expected, "an item out of order, missing or doubled");
                expected += 1;
                read.store(expected, Ordering::Release);
                // Cut once the previous cut has been resumed from.
                if cuts < cut_at.len() && resumed == cuts as u64 && expected >= cut_at[cuts] {
                    proxy.cut();
                    cuts += 1;
                }
            }
            SubscriptionEvent::Resumed => resumed += 1,
            other => panic!("after {expected} items: {other:?}"),
        }
    }
    publishing.await.unwrap();
    assert_eq!(cuts, CUTS as usize);
    assert_eq!(resumed, CUTS, "one Resumed per cut");
    println!(
        "{TOTAL} items over {CUTS} cuts in {:?} ({} connections)",
        started.elapsed(),
        proxy.accepted()
    );

    // Each cut was seen, and each reconnect finished (the last one's event
    // may follow its Resumed notice).
    let mut seen = (0, 0);
    while seen.1 < CUTS {
        match wait_for(&mut events, |_| true).await {
            ConnectionEvent::Disconnected(_) => seen.0 += 1,
            ConnectionEvent::Reconnected { .. } => seen.1 += 1,
            _ => {}
        }
    }
    assert_eq!(seen, (CUTS, CUTS));
    assert!(events.try_recv().is_err(), "no more connection events");
    assert_eq!(client.connection_state(), ConnectionState::Connected);
    assert!(
        tokio::time::timeout(Duration::from_secs(5), async {
            while server.server().connection_count() != 1 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .is_ok(),
        "the server let go of every cut connection"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gap_history_cannot_fill_is_reported_with_its_exact_size() {
    const ROUNDS: u64 = 5;
    const LIVE: u64 = 500;
    const WHILE_DOWN: u64 = 300;
    const HISTORY: usize = 100;
    let bus = Arc::new(InProcessBus::default().with_history(HISTORY, Duration::from_secs(600)));
    let server = serve(bus.clone(), "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (client, mut events) = reconnecting(&proxy.url(), Duration::from_secs(10)).await;
    let mut stream = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .unwrap();
    let total = ROUNDS * (LIVE + WHILE_DOWN);

    let read = Arc::new(AtomicU64::new(0));
    let reader = {
        let read = read.clone();
        tokio::spawn(async move {
            let (mut items, mut gaps, mut missed) = (0u64, Vec::new(), 0u64);
            let mut last: Option<u64> = None;
            let mut owed_gap = 0;
            while items + missed < total {
                match next(&mut stream).await {
                    SubscriptionEvent::Item(n) => {
                        let expected = last.map_or(0, |last| last + 1) + owed_gap;
                        assert_eq!(
                            n, expected,
                            "item {n} after {last:?} and a gap of {owed_gap}"
                        );
                        owed_gap = 0;
                        last = Some(n);
                        items += 1;
                        read.store(n + 1, Ordering::Release);
                    }
                    SubscriptionEvent::Gap(n) => {
                        owed_gap += n;
                        missed += n;
                        gaps.push(n);
                    }
                    SubscriptionEvent::Resumed => {}
                    other => panic!("after {last:?}: {other:?}"),
                }
            }
            (items, gaps, missed)
        })
    };

    let mut published = 0;
    for _ in 0..ROUNDS {
        publish_paced(bus.clone(), published..published + LIVE, read.clone(), 200)
            .await
            .unwrap();
        published += LIVE;
        // Down: the subscriber cannot come back while more is published
        // than history keeps.
        proxy.refuse(true);
        proxy.cut();
        wait_for(&mut events, |e| {
            matches!(e, ConnectionEvent::Disconnected(_))
        })
        .await;
        for n in published..published + WHILE_DOWN {
            bus::publish(&*bus, "numbers", &n).await.unwrap();
        }
        published += WHILE_DOWN;
        wait_for(&mut events, |e| {
            matches!(e, ConnectionEvent::AttemptFailed { .. })
        })
        .await;
        proxy.refuse(false);
        wait_for(&mut events, |e| {
            matches!(e, ConnectionEvent::Reconnected { .. })
        })
        .await;
    }
    let (items, gaps, missed) = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the reader finished")
        .unwrap();
    assert_eq!(
        items + missed,
        total,
        "every item read or counted as missed"
    );
    assert_eq!(gaps.len() as u64, ROUNDS, "one gap per outage: {gaps:?}");
    for gap in &gaps {
        // At least what was published while down, less what history kept.
        assert!(*gap >= WHILE_DOWN - HISTORY as u64, "{gaps:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_is_reconnected_to_and_its_new_epoch_is_told() {
    let first_bus = Arc::new(InProcessBus::default());
    let server = serve(first_bus.clone(), "127.0.0.1:0").await;
    let addr: SocketAddr = server.local_addr();
    let url = format!("ws://{addr}/");
    let (client, mut events) = reconnecting(&url, Duration::from_secs(10)).await;
    let mut stream = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .unwrap();
    bus::publish(&*first_bus, "numbers", &1u64).await.unwrap();
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(1)
    ));

    server.shutdown().await;
    drop(server);
    wait_for(&mut events, |e| {
        matches!(e, ConnectionEvent::Disconnected(_))
    })
    .await;
    assert!(matches!(
        client.connection_state(),
        ConnectionState::Reconnecting { .. }
    ));
    // A call made during the outage waits for the server to come back.
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.call::<i64>("add", [2, 3]).await }
    });
    wait_for(&mut events, |e| {
        matches!(e, ConnectionEvent::AttemptFailed { .. })
    })
    .await;
    assert!(!waiting.is_finished(), "the call waits for the connection");

    let second_bus = Arc::new(InProcessBus::default());
    let server = serve(second_bus.clone(), &addr.to_string()).await;
    assert_eq!(waiting.await.unwrap().unwrap(), 5);
    wait_for(&mut events, |e| {
        matches!(e, ConnectionEvent::Reconnected { .. })
    })
    .await;
    // The new server's topic has a new epoch: the stream says so, then goes on.
    assert!(
        matches!(next(&mut stream).await, SubscriptionEvent::Restarted),
        "the restart is told"
    );
    bus::publish(&*second_bus, "numbers", &2u64).await.unwrap();
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(2)
    ));

    // Down for longer than the call timeout: the call fails in time, never hangs.
    let (short, mut short_events) = reconnecting(&url, Duration::from_millis(300)).await;
    server.shutdown().await;
    drop(server);
    wait_for(&mut short_events, |e| {
        matches!(e, ConnectionEvent::Disconnected(_))
    })
    .await;
    let outcome = tokio::time::timeout(Duration::from_secs(30), short.call::<i64>("add", [1, 1]))
        .await
        .expect("the call ends by its own timeout, never hangs");
    assert!(matches!(outcome, Err(CallError::Timeout(_))), "{outcome:?}");
}

#[tokio::test]
async fn a_subscription_without_positions_says_it_was_made_again() {
    let server = serve(Arc::new(InProcessBus::default()), "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (client, mut events) = reconnecting(&proxy.url(), Duration::from_secs(10)).await;
    let mut ticks = client
        .subscribe::<u64>("ticks", (), "unticks")
        .await
        .unwrap();
    let first_id = ticks.id();
    for n in 0..3 {
        assert!(matches!(next(&mut ticks).await, SubscriptionEvent::Item(m) if m == n));
    }
    proxy.cut();
    wait_for(&mut events, |e| {
        matches!(e, ConnectionEvent::Reconnected { .. })
    })
    .await;
    // Items of the old connection may still be queued; then the notice,
    // then the new handler's items from 0.
    loop {
        match next(&mut ticks).await {
            SubscriptionEvent::Item(_) => {}
            SubscriptionEvent::Resubscribed => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(next(&mut ticks).await, SubscriptionEvent::Item(0)));
    assert!(matches!(next(&mut ticks).await, SubscriptionEvent::Item(1)));
    assert!(!ticks.id().is_empty());
    assert_eq!(ticks.id(), first_id, "ids count from 1 on every connection");
    ticks.unsubscribe().await.unwrap();
    wait_until(|| {
        server
            .server()
            .peers()
            .iter()
            .all(|peer| peer.served_subscriptions() == 0)
    })
    .await;
}

#[tokio::test]
async fn closing_a_reconnecting_client_ends_its_calls_and_subscriptions() {
    let bus = Arc::new(InProcessBus::default());
    let server = serve(bus, "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (client, mut events) = reconnecting(&proxy.url(), Duration::from_secs(10)).await;
    let mut stream = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .unwrap();
    // Down and refusing: the client keeps trying until it is closed.
    proxy.refuse(true);
    proxy.cut();
    wait_for(&mut events, |e| {
        matches!(e, ConnectionEvent::AttemptFailed { .. })
    })
    .await;
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.call::<i64>("add", [1, 1]).await }
    });
    tokio::time::timeout(Duration::from_secs(5), client.close())
        .await
        .expect("close returns");
    assert!(matches!(
        client.connection_state(),
        ConnectionState::Closed(_)
    ));
    let outcome = waiting.await.unwrap();
    assert!(matches!(outcome, Err(CallError::Closed(_))), "{outcome:?}");
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Closed(_)
    ));
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn giving_up_after_the_last_attempt_closes_the_client() {
    let bus = Arc::new(InProcessBus::default());
    let server = serve(bus, "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (events, mut received) = mpsc::unbounded_channel();
    let client = Client::builder()
        .reconnect(quick().max_attempts(3))
        .on_connection_event(move |event| drop(events.send(event.clone())))
        .connect(&proxy.url())
        .await
        .unwrap();
    proxy.refuse(true);
    proxy.cut();
    let mut failed = 0;
    let gave_up = loop {
        match wait_for(&mut received, |_| true).await {
            ConnectionEvent::AttemptFailed { error, .. } => {
                assert!(!error.is_empty());
                failed += 1;
            }
            ConnectionEvent::GaveUp(why) => break why,
            _ => {}
        }
    };
    assert_eq!(failed, 3);
    assert_eq!(client.closed().await, gave_up);
    assert!(matches!(
        client.call::<i64>("add", [1, 1]).await,
        Err(CallError::Closed(_))
    ));
}

#[wirecall::rpc(server, client)]
trait Ledger {
    /// Moves money: running it twice would move it twice.
    #[method(name = "transfer")]
    async fn transfer(&self, amount: u64) -> Result<u64, ErrorObject>;

    /// Reads the balance: safe to run again.
    #[method(name = "balance", idempotent)]
    async fn balance(&self) -> Result<u64, ErrorObject>;
}

/// Counts calls; the first call of each method hangs until its connection
/// is cut.
#[derive(Default)]
struct Books {
    transfers: AtomicU64,
    balances: AtomicU64,
    entered: Mutex<Vec<&'static str>>,
}

impl LedgerServer for Arc<Books> {
    async fn transfer(&self, amount: u64) -> Result<u64, ErrorObject> {
        self.entered.lock().unwrap().push("transfer");
        if self.transfers.fetch_add(1, Ordering::SeqCst) == 0 {
            std::future::pending::<()>().await;
        }
        Ok(amount)
    }

    async fn balance(&self) -> Result<u64, ErrorObject> {
        self.entered.lock().unwrap().push("balance");
        if self.balances.fetch_add(1, Ordering::SeqCst) == 0 {
            std::future::pending::<()>().await;
        }
        Ok(42)
    }
}

#[tokio::test]
async fn only_idempotent_calls_are_sent_again_after_a_cut() {
    let books = Arc::new(Books::default());
    let server = Server::builder()
        .build(books.clone().into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let proxy = Proxy::start(server.local_addr()).await;
    let (client, mut events) = reconnecting(&proxy.url(), Duration::from_secs(10)).await;
    let ledger = LedgerClient::new(client.clone());

    let transfer = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.transfer(10).await }
    });
    wait_until(|| books.entered.lock().unwrap().len() == 1).await;
    proxy.cut();
    let outcome = transfer.await.unwrap();
    assert!(
        matches!(outcome, Err(CallError::Disconnected(_))),
        "a transfer cut off in flight is not sent again: {outcome:?}"
    );
    wait_for(&mut events, |e| {
        matches!(e, ConnectionEvent::Reconnected { .. })
    })
    .await;

    let balance = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.balance().await }
    });
    wait_until(|| books.entered.lock().unwrap().len() == 2).await;
    proxy.cut();
    assert_eq!(balance.await.unwrap().unwrap(), 42);
    assert_eq!(books.transfers.load(Ordering::SeqCst), 1, "sent once");
    assert_eq!(books.balances.load(Ordering::SeqCst), 2, "sent again");
    assert_eq!(
        *books.entered.lock().unwrap(),
        ["transfer", "balance", "balance"]
    );
}

async fn wait_until(done: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the condition held in time");
}

#[tokio::test]
async fn a_stalled_connection_is_noticed_and_replaced() {
    let bus = Arc::new(InProcessBus::default().with_history(1_000, Duration::from_secs(600)));
    let server = serve(bus.clone(), "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (events, mut received) = mpsc::unbounded_channel();
    let client = Client::builder()
        .connection_config(wirecall::ConnectionConfig {
            ping_interval: Some(Duration::from_millis(100)),
            idle_timeout: Some(Duration::from_millis(400)),
            ..wirecall::ConnectionConfig::default()
        })
        .reconnect(quick())
        .on_connection_event(move |event| drop(events.send(event.clone())))
        .connect(&proxy.url())
        .await
        .unwrap();
    let mut stream = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .unwrap();
    bus::publish(&*bus, "numbers", &0u64).await.unwrap();
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(0)
    ));

    // Bytes stop but the socket stays open: only the idle timeout can tell.
    proxy.stall(true);
    bus::publish(&*bus, "numbers", &1u64).await.unwrap();
    wait_for(&mut received, |e| {
        matches!(e, ConnectionEvent::Disconnected(_))
    })
    .await;
    proxy.stall(false);
    wait_for(&mut received, |e| {
        matches!(e, ConnectionEvent::Reconnected { .. })
    })
    .await;
    bus::publish(&*bus, "numbers", &2u64).await.unwrap();
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Resumed
    ));
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(1)
    ));
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(2)
    ));
    assert!(proxy.live() <= 2);
}

#[tokio::test]
async fn headers_go_again_with_every_reconnect() {
    let admitted = Arc::new(AtomicU64::new(0));
    let counted = admitted.clone();
    let server = Server::builder()
        .handshake(move |request| {
            if request.bearer_token() == Some("ada-token") {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(wirecall::Extensions::new())
            } else {
                Err(wirecall::server::Rejection::unauthorized(
                    "a bearer token is required",
                ))
            }
        })
        .build(router(Arc::new(InProcessBus::default())))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let proxy = Proxy::start(server.local_addr()).await;
    let (events, mut received) = mpsc::unbounded_channel();
    let client = Client::builder()
        .header("Authorization", "Bearer ada-token")
        .reconnect(quick())
        .on_connection_event(move |event| drop(events.send(event.clone())))
        .connect(&proxy.url())
        .await
        .unwrap();
    for _ in 0..3 {
        proxy.cut();
        wait_for(&mut received, |e| {
            matches!(e, ConnectionEvent::Reconnected { .. })
        })
        .await;
    }
    assert_eq!(client.call::<i64>("add", [1, 2]).await.unwrap(), 3);
    assert_eq!(
        admitted.load(Ordering::SeqCst),
        4,
        "every handshake carried the token"
    );
}
