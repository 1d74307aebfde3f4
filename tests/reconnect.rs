//! A reconnecting client over a proxy that cuts, stalls and refuses
//! connections: subscriptions carry on with every item once and in order,
//! or say exactly what they missed. reconnect_calls.rs has the calls.

#[path = "common/proxy.rs"]
mod proxy;
#[path = "common/reconnecting.rs"]
mod reconnecting;
#[path = "common/topics.rs"]
mod topics;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use proxy::Proxy;
use reconnecting::{next, reconnecting, serve, wait_for, wait_until};
use wirecall::bus::{self, InProcessBus};
use wirecall::client::ConnectionEvent;
use wirecall::{CallError, ConnectionState, SubscriptionEvent};

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
