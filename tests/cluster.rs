//! Server nodes sharing topics through Redis: items published on any node
//! reach subscribers on every node exactly once, in offset order; Redis
//! faults are survived or reported exactly; a client whose node dies
//! resumes on another with nothing lost.
//!
//! Each test starts its own `redis-server` on a free port (see
//! common/redis.rs); without one installed they print "skipped", and fail
//! under CI.

#[path = "common/proxy.rs"]
mod proxy;
#[path = "common/redis.rs"]
mod redis;

#[path = "common/topics.rs"]
mod topics;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proxy::Proxy;
use redis::{RedisCluster, RedisServer};
use wirecall::bus::{self, BusError, Position, RedisBus, TopicMethods};
use wirecall::client::{ConnectionEvent, ReconnectPolicy};
use wirecall::{Client, Router, Server, ServerHandle, Subscription, SubscriptionEvent};

/// `follow`: the topic `numbers` on this node's bus; `follow_topic(name)`:
/// any topic.
fn router(bus: Arc<RedisBus>) -> Router {
    let mut router = Router::new();
    let methods = TopicMethods {
        subscribe: "follow_topic",
        notification: "topic_item",
        unsubscribe: "unfollow_topic",
    };
    bus::serve_topic(&mut router, methods, bus.clone(), |params| {
        let (topic,): (String,) = params.parse()?;
        Ok(topic)
    })
    .unwrap();
    topics::follow_numbers(&mut router, bus);
    router
}

/// A server node with its own connection to Redis.
async fn node(redis: &RedisServer, history: usize) -> (ServerHandle, Arc<RedisBus>) {
    let bus = RedisBus::builder(redis.url())
        .history(history, Duration::from_secs(600))
        .timeout(Duration::from_millis(500));
    serve(bus).await
}

async fn serve(bus: wirecall::bus::RedisBusBuilder) -> (ServerHandle, Arc<RedisBus>) {
    let bus = Arc::new(bus.connect().await.unwrap());
    let server = Server::builder()
        .shutdown_deadline(Duration::from_millis(100))
        .build(router(bus.clone()))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    (server, bus)
}

async fn follow(url: &str) -> Subscription<u64> {
    let client = Client::connect(url).await.unwrap();
    let stream = client.subscribe("follow", (), "unfollow").await.unwrap();
    // The stream keeps its connection open as long as it lives.
    std::mem::forget(client);
    stream
}

async fn next(stream: &mut Subscription<u64>) -> SubscriptionEvent<u64> {
    tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("an event in time")
        .expect("the stream is open")
}

/// Reads `count` items; they must come in offset order with no hole and no
/// repeat. Returns their values.
async fn read_items(stream: &mut Subscription<u64>, count: usize) -> Vec<u64> {
    let mut values = Vec::with_capacity(count);
    let mut last: Option<Position> = None;
    while values.len() < count {
        match next(stream).await {
            SubscriptionEvent::Item(value) => {
                let at = stream.position().expect("topic items carry positions");
                if let Some(last) = &last {
                    assert_eq!(at.epoch, last.epoch);
                    assert_eq!(at.offset, last.offset + 1, "a hole or a repeat");
                }
                last = Some(at);
                values.push(value);
            }
            other => panic!("after {} items: {other:?}", values.len()),
        }
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_published_on_any_node_reach_every_node_once_in_order() {
    const TOTAL: u64 = 100_000;
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let (a, bus_a) = node(&redis, 200_000).await;
    let (b, bus_b) = node(&redis, 200_000).await;
    let url_a = format!("ws://{}/", a.local_addr());
    let url_b = format!("ws://{}/", b.local_addr());
    let mut subscribers = vec![
        follow(&url_a).await,
        follow(&url_a).await,
        follow(&url_b).await,
        follow(&url_b).await,
    ];
    let started = Instant::now();
    // Two publishers, one on each node, at once.
    let publishers: Vec<_> = [(bus_a, 0..TOTAL / 2), (bus_b, TOTAL / 2..TOTAL)]
        .into_iter()
        .map(|(bus, range)| {
            tokio::spawn(async move {
                for n in range {
                    bus::publish(&*bus, "numbers", &n).await.unwrap();
                }
            })
        })
        .collect();
    let readers: Vec<_> = subscribers
        .drain(..)
        .map(|mut stream| {
            tokio::spawn(async move { read_items(&mut stream, TOTAL as usize).await })
        })
        .collect();
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let mut orders = Vec::new();
    for reader in readers {
        let values = reader.await.unwrap();
        let distinct: HashSet<u64> = values.iter().copied().collect();
        assert_eq!(distinct.len() as u64, TOTAL, "every item exactly once");
        orders.push(values);
    }
    // Every subscriber, on either node, saw the one order Redis gave.
    assert!(orders.windows(2).all(|pair| pair[0] == pair[1]));
    println!(
        "{TOTAL} items to 4 subscribers on 2 nodes in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_pubsub_connection_loses_nothing() {
    const TOTAL: u64 = 3_000;
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let (a, bus) = node(&redis, 10_000).await;
    let (b, _bus_b) = node(&redis, 10_000).await;
    let mut here = follow(&format!("ws://{}/", a.local_addr())).await;
    let mut there = follow(&format!("ws://{}/", b.local_addr())).await;
    let publisher = {
        let bus = bus.clone();
        tokio::spawn(async move {
            for n in 0..TOTAL {
                bus::publish(&*bus, "numbers", &n).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    // Redis drops every pub/sub connection, a few times, while items flow:
    // each node reconnects and fills the hole from history.
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(redis.command("CLIENT KILL TYPE pubsub").is_some());
    }
    publisher.await.unwrap();
    let here_values = read_items(&mut here, TOTAL as usize).await;
    let there_values = read_items(&mut there, TOTAL as usize).await;
    assert_eq!(here_values, (0..TOTAL).collect::<Vec<_>>());
    assert_eq!(there_values, here_values);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_is_told_and_publishing_while_it_is_down_fails_clearly() {
    if !redis::available() {
        return;
    }
    let mut redis = RedisServer::start();
    let (a, bus) = node(&redis, 1_000).await;
    let mut stream = follow(&format!("ws://{}/", a.local_addr())).await;
    for n in 0..3u64 {
        bus::publish(&*bus, "numbers", &n).await.unwrap();
    }
    assert_eq!(read_items(&mut stream, 3).await, [0, 1, 2]);

    redis.kill();
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        bus::publish(&*bus, "numbers", &99u64),
    )
    .await
    .expect("a clear error, not a hang");
    assert!(
        matches!(
            refused,
            Err(BusError::Unavailable(_) | BusError::Unconfirmed(_))
        ),
        "{refused:?}"
    );

    // Back, empty: the topic's history and epoch are gone.
    redis.restart();
    tokio::time::timeout(Duration::from_secs(20), bus.listening())
        .await
        .expect("the bus reconnects");
    let mut published = false;
    for _ in 0..100 {
        if bus::publish(&*bus, "numbers", &3u64).await.is_ok() {
            published = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(published, "publishing works again once Redis is back");
    assert!(
        matches!(next(&mut stream).await, SubscriptionEvent::Restarted),
        "the lost history is told as a restart"
    );
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(3)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_node_dies_resumes_on_another_with_nothing_lost() {
    const TOTAL: u64 = 2_000;
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let (a, bus_a) = node(&redis, 10_000).await;
    let (b, _bus_b) = node(&redis, 10_000).await;
    // The proxy is the load balancer in front of both nodes.
    let balancer = Proxy::start(a.local_addr()).await;
    let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
    let client = Client::builder()
        .reconnect(ReconnectPolicy::default().initial_delay(Duration::from_millis(10)))
        .on_connection_event(move |event| drop(events.send(event.clone())))
        .connect(&balancer.url())
        .await
        .unwrap();
    let mut stream = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .unwrap();
    let publisher = tokio::spawn(async move {
        for n in 0..TOTAL {
            bus::publish(&*bus_a, "numbers", &n).await.unwrap();
            if n == TOTAL / 2 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let mut values = Vec::new();
    let mut resumed = 0;
    while values.len() < TOTAL as usize {
        match next(&mut stream).await {
            SubscriptionEvent::Item(n) => {
                values.push(n);
                if values.len() == 500 {
                    // Node A dies; the balancer sends everyone to node B.
                    balancer.set_upstream(b.local_addr());
                    a.shutdown().await;
                }
            }
            SubscriptionEvent::Resumed => resumed += 1,
            other => panic!("after {} items: {other:?}", values.len()),
        }
    }
    publisher.await.unwrap();
    assert_eq!(
        values,
        (0..TOTAL).collect::<Vec<_>>(),
        "every item once, in order"
    );
    assert_eq!(resumed, 1);
    let mut reconnected = false;
    while let Ok(event) = received.try_recv() {
        reconnected |= matches!(event, ConnectionEvent::Reconnected { .. });
    }
    assert!(reconnected);
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_spread_over_three_shards_and_reach_both_nodes_once_in_order() {
    const TOPICS: usize = 8;
    const PER_TOPIC: u64 = 1_000;
    if !redis::available() {
        return;
    }
    let cluster = RedisCluster::start(3);
    let node_on_cluster = || {
        RedisBus::cluster_builder(cluster.urls())
            .history(10_000, Duration::from_secs(600))
            .timeout(Duration::from_secs(2))
    };
    let (a, bus_a) = serve(node_on_cluster()).await;
    let (b, bus_b) = serve(node_on_cluster()).await;
    let topics: Vec<String> = (0..TOPICS).map(|n| format!("room-{n}")).collect();
    let mut readers = Vec::new();
    for topic in &topics {
        for server in [&a, &b] {
            let client = Client::connect(&format!("ws://{}/", server.local_addr()))
                .await
                .unwrap();
            let mut stream = client
                .subscribe::<u64>("follow_topic", [topic], "unfollow_topic")
                .await
                .unwrap();
            readers.push(tokio::spawn(async move {
                let values = read_items(&mut stream, PER_TOPIC as usize).await;
                drop(client);
                values
            }));
        }
    }
    // Each topic's items alternate between the two nodes' buses.
    let publishers: Vec<_> = topics
        .iter()
        .cloned()
        .map(|topic| {
            let (bus_a, bus_b) = (bus_a.clone(), bus_b.clone());
            tokio::spawn(async move {
                for n in 0..PER_TOPIC {
                    let bus = if n % 2 == 0 { &bus_a } else { &bus_b };
                    bus::publish(&**bus, &topic, &n).await.unwrap();
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.unwrap();
    }
    for reader in readers {
        // One publisher per topic: its order is the order Redis gave.
        assert_eq!(reader.await.unwrap(), (0..PER_TOPIC).collect::<Vec<_>>());
    }
    // The topics' keys are spread over the shards, not on one.
    let holding = cluster
        .nodes()
        .iter()
        .filter(|node| {
            node.info_line("INFO keyspace", "db0:keys=")
                .and_then(|keys| keys.split(',').next().and_then(|n| n.parse::<u64>().ok()))
                .is_some_and(|keys| keys > 0)
        })
        .count();
    assert!(
        holding >= 2,
        "{TOPICS} topics all landed on {holding} shard(s)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_redis_is_told_as_a_restart_on_every_node() {
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let (a, bus) = node(&redis, 1_000).await;
    let (b, _bus_b) = node(&redis, 1_000).await;
    let mut here = follow(&format!("ws://{}/", a.local_addr())).await;
    let mut there = follow(&format!("ws://{}/", b.local_addr())).await;
    for n in 0..3u64 {
        bus::publish(&*bus, "numbers", &n).await.unwrap();
    }
    for stream in [&mut here, &mut there] {
        assert_eq!(read_items(stream, 3).await, [0, 1, 2]);
    }
    assert_eq!(redis.command("FLUSHALL").as_deref(), Some("+OK"));
    bus::publish(&*bus, "numbers", &3u64).await.unwrap();
    for stream in [&mut here, &mut there] {
        assert!(matches!(next(stream).await, SubscriptionEvent::Restarted));
        assert!(matches!(next(stream).await, SubscriptionEvent::Item(3)));
        assert_eq!(
            stream.position().unwrap().offset,
            1,
            "the new epoch counts from 1"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hole_history_cannot_fill_is_reported_with_its_exact_size() {
    const BEFORE: u64 = 10;
    const WHILE_CUT_OFF: u64 = 200;
    const HISTORY: usize = 50;
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let (_a, bus_a) = node(&redis, HISTORY).await;
    // Node B reaches Redis through a proxy that can stall and cut it off.
    let line: std::net::SocketAddr = redis
        .url()
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let proxy = Proxy::start(line).await;
    let proxied = proxy.url().replace("ws://", "redis://");
    let (b, _bus_b) = serve(
        RedisBus::builder(proxied)
            .history(HISTORY, Duration::from_secs(600))
            .timeout(Duration::from_millis(500)),
    )
    .await;
    let mut there = follow(&format!("ws://{}/", b.local_addr())).await;
    for n in 0..BEFORE {
        bus::publish(&*bus_a, "numbers", &n).await.unwrap();
    }
    assert_eq!(
        read_items(&mut there, BEFORE as usize).await,
        (0..BEFORE).collect::<Vec<_>>()
    );

    // Node B hears nothing while far more is published than history keeps.
    proxy.stall(true);
    for n in BEFORE..BEFORE + WHILE_CUT_OFF {
        bus::publish(&*bus_a, "numbers", &n).await.unwrap();
    }
    proxy.cut();
    proxy.stall(false);
    // Node B reconnects, finds the hole by offsets and says exactly how big.
    let mut missed = 0;
    let mut values = Vec::new();
    while values.len() as u64 + missed < WHILE_CUT_OFF {
        match next(&mut there).await {
            SubscriptionEvent::Lagged(n) => missed += n,
            SubscriptionEvent::Item(n) => values.push(n),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        missed,
        WHILE_CUT_OFF - HISTORY as u64,
        "the exact size of the hole"
    );
    let kept: Vec<u64> =
        (BEFORE + WHILE_CUT_OFF - HISTORY as u64..BEFORE + WHILE_CUT_OFF).collect();
    assert_eq!(values, kept, "what history kept follows, in order");
    bus::publish(&*bus_a, "numbers", &999u64).await.unwrap();
    assert!(matches!(
        next(&mut there).await,
        SubscriptionEvent::Item(999)
    ));
}

/// Calls of `command` since the last `CONFIG RESETSTAT`.
fn calls(redis: &RedisServer, command: &str) -> u64 {
    let stats = redis.info("commandstats");
    stats
        .lines()
        .find_map(|line| line.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .map_or(0, |rest| rest.split(',').next().unwrap().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_catches_a_topic_up_once_for_all_its_subscribers() {
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let bus = RedisBus::builder(redis.url())
        .timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    let mut streams = Vec::new();
    for _ in 0..200 {
        streams.push(bus::Bus::subscribe(&bus, "numbers").await.unwrap());
    }
    assert_eq!(redis.command("CONFIG RESETSTAT").as_deref(), Some("+OK"));
    // The pub/sub connection drops: messages may have been lost, so the
    // node catches the topic up from history when it is back.
    assert_eq!(
        redis.command("CLIENT KILL TYPE pubsub").as_deref(),
        Some(":1")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::time::timeout(Duration::from_secs(20), bus.listening())
        .await
        .expect("the pub/sub connection comes back");
    bus::publish(&bus, "numbers", &7u64).await.unwrap();
    for stream in &mut streams {
        let event = tokio::time::timeout(
            Duration::from_secs(10),
            futures_util::StreamExt::next(stream),
        )
        .await
        .expect("an item in time")
        .unwrap();
        assert!(
            matches!(&event, bus::BusEvent::Item(item, _) if item.get() == "7"),
            "{event:?}"
        );
    }
    // One publish, and the node's reads of the topic: a few, not one per
    // subscriber.
    let scripts = calls(&redis, "evalsha") + calls(&redis, "eval");
    println!("{scripts} scripts ran for 200 subscribers");
    assert!(
        (2..=5).contains(&scripts),
        "{scripts} scripts ran for 200 subscribers"
    );
}
