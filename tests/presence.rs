//! Presence: names claimed once per topic, joins and leaves told on the
//! topic once to every subscriber on every node, members of a silent node
//! expiring, and every bus and presence call answering within its bound
//! while Redis is paused or gone, leaving nothing behind when it fails.
//!
//! The Redis tests start their own `redis-server` (see common/redis.rs);
//! each "node" is a bus and a presence with connections of their own.

#[path = "common/redis.rs"]
mod redis;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::RedisServer;
use serde_json::json;
use serde_json::value::{to_raw_value, RawValue};
use wirecall::bus::presence::{InProcessPresence, Joined, Presence, RedisPresence};
use wirecall::bus::{self, Bus, BusError, BusEvent, InProcessBus, Position, RedisBus, Resume};
use wirecall::bus::{TopicMethods, TopicStream};
use wirecall::{Client, ErrorCode, Router, Server};

/// The bound every Redis call of these nodes answers within.
const BOUND: Duration = Duration::from_millis(500);

struct Node {
    bus: Arc<RedisBus>,
    presence: RedisPresence,
}

async fn node(redis: &RedisServer, ttl: Duration) -> Node {
    let bus = RedisBus::builder(redis.url())
        .timeout(BOUND)
        .connect()
        .await
        .unwrap();
    let presence = RedisPresence::new(&bus).ttl(ttl);
    Node {
        bus: Arc::new(bus),
        presence,
    }
}

#[allow(clippy::needless_pass_by_value)] // called with `json!(…)`
fn info(value: serde_json::Value) -> Box<RawValue> {
    to_raw_value(&value).unwrap()
}

/// The next item of `stream` as JSON, skipping resume notices.
async fn next_item(stream: &mut TopicStream) -> serde_json::Value {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an item in time")
            .expect("the stream goes on");
        match event {
            BusEvent::Item(item, _) => return serde_json::from_str(item.get()).unwrap(),
            BusEvent::Resumed(_) => {}
            BusEvent::Lagged(n) => panic!("lagged by {n}"),
        }
    }
}

/// Every item of `stream` up to the marker `"end"`.
async fn items_until_end(stream: &mut TopicStream) -> Vec<serde_json::Value> {
    let mut items = Vec::new();
    loop {
        let item = next_item(stream).await;
        if item == json!("end") {
            return items;
        }
        items.push(item);
    }
}

fn joined(name: &str, device: &str) -> serde_json::Value {
    json!({ "presence": "joined", "name": name, "info": { "device": device } })
}

fn left(name: &str, device: &str) -> serde_json::Value {
    json!({ "presence": "left", "name": name, "info": { "device": device } })
}

async fn names(presence: &dyn Presence, topic: &str) -> Vec<String> {
    let members = presence.members(topic).await.unwrap();
    members.into_iter().map(|member| member.name).collect()
}

#[tokio::test]
async fn in_process_presence_claims_names_and_tells_joins_and_leaves() {
    let bus: Arc<dyn Bus> = Arc::new(InProcessBus::default());
    let presence = InProcessPresence::new(bus.clone());
    let mut room = bus.subscribe("room").await.unwrap();
    let phone = info(json!({ "device": "phone" }));

    let first = presence.join("room", "ada", "h1", &phone).await.unwrap();
    assert!(matches!(first, Joined::New(_)), "{first:?}");
    assert_eq!(next_item(&mut room).await, joined("ada", "phone"));
    let other = presence.join("room", "ada", "h2", &phone).await.unwrap();
    assert_eq!(other, Joined::Taken);
    // The same holder again (another connection of the same page, say).
    let again = presence.join("room", "ada", "h1", &phone).await.unwrap();
    assert!(matches!(again, Joined::Again(_)), "{again:?}");
    assert_eq!(names(&presence, "room").await, ["ada"]);

    // The first join no longer holds the name: its leave does nothing.
    let stale = first.claim().unwrap();
    assert!(!presence.leave("room", "ada", stale).await.unwrap());
    let current = again.claim().unwrap();
    assert!(presence.leave("room", "ada", current).await.unwrap());
    assert_eq!(next_item(&mut room).await, left("ada", "phone"));
    assert!(names(&presence, "room").await.is_empty());
    // Nothing else was told: no join for `Again`, none for `Taken`.
    bus::publish(&*bus, "room", &"end").await.unwrap();
    assert!(items_until_end(&mut room).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_members_and_tell_each_join_and_leave_once() {
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let mut nodes = Vec::new();
    let mut rooms = Vec::new();
    for _ in 0..3 {
        let node = node(&redis, Duration::from_secs(10)).await;
        rooms.push(node.bus.subscribe("room").await.unwrap());
        nodes.push(node);
    }
    let people = [("ada", "phone"), ("bob", "laptop"), ("cy", "tablet")];
    let mut claims = Vec::new();
    for ((name, device), node) in people.iter().zip(&nodes) {
        let joined = node
            .presence
            .join(
                "room",
                name,
                &format!("holder-{name}"),
                &info(json!({ "device": device })),
            )
            .await
            .unwrap();
        assert!(matches!(joined, Joined::New(_)), "{joined:?}");
        claims.push(joined.claim().unwrap().clone());
    }
    for node in &nodes {
        assert_eq!(names(&node.presence, "room").await, ["ada", "bob", "cy"]);
    }
    assert!(nodes[1]
        .presence
        .leave("room", "bob", &claims[1])
        .await
        .unwrap());
    bus::publish(&*nodes[0].bus, "room", &"end").await.unwrap();
    for room in &mut rooms {
        let told = items_until_end(room).await;
        let mut wanted: Vec<_> = people.iter().map(|(n, d)| joined(n, d)).collect();
        wanted.push(left("bob", "laptop"));
        assert_eq!(
            told, wanted,
            "each node's subscriber is told each change once, in order"
        );
    }
    assert_eq!(names(&nodes[2].presence, "room").await, ["ada", "cy"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_claimed_on_three_nodes_at_once_is_won_by_exactly_one() {
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(Arc::new(node(&redis, Duration::from_secs(10)).await));
    }
    for round in 0..20 {
        let name = format!("name-{round}");
        let claims = nodes.iter().enumerate().map(|(n, node)| {
            let (node, name) = (node.clone(), name.clone());
            tokio::spawn(async move {
                let info = info(json!({ "node": n }));
                node.presence
                    .join("room", &name, &format!("holder-{n}"), &info)
                    .await
                    .unwrap()
            })
        });
        let mut outcomes = Vec::new();
        for claim in claims.collect::<Vec<_>>() {
            outcomes.push(claim.await.unwrap());
        }
        let won = outcomes
            .iter()
            .filter(|o| matches!(o, Joined::New(_)))
            .count();
        let taken = outcomes.iter().filter(|o| **o == Joined::Taken).count();
        assert_eq!((won, taken), (1, 2), "round {round}: {outcomes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_members_of_a_node_that_falls_silent_expire_and_their_leave_is_told_once() {
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let ttl = Duration::from_millis(900);
    let doomed = node(&redis, ttl).await;
    let (b, c) = (node(&redis, ttl).await, node(&redis, ttl).await);
    let mut rooms = [
        b.bus.subscribe("room").await.unwrap(),
        c.bus.subscribe("room").await.unwrap(),
    ];
    let phone = info(json!({ "device": "phone" }));
    doomed
        .presence
        .join("room", "ada", "h-ada", &phone)
        .await
        .unwrap();
    b.presence
        .join("room", "bob", "h-bob", &phone)
        .await
        .unwrap();
    c.presence.join("room", "cy", "h-cy", &phone).await.unwrap();
    for room in &mut rooms {
        for name in ["ada", "bob", "cy"] {
            assert_eq!(next_item(room).await, joined(name, "phone"));
        }
    }
    // The node falls silent: no more heartbeats, no leave of its own.
    let started = Instant::now();
    drop(doomed);
    for room in &mut rooms {
        assert_eq!(next_item(room).await, left("ada", "phone"));
    }
    // How soon is the benchmark's business; here it must come at all.
    println!(
        "the leave was told {:?} after the node fell silent",
        started.elapsed()
    );
    assert_eq!(names(&b.presence, "room").await, ["bob", "cy"]);
    // Two nodes swept, one told: nothing else is on the topic.
    tokio::time::sleep(ttl).await;
    bus::publish(&*b.bus, "room", &"end").await.unwrap();
    for room in &mut rooms {
        assert!(items_until_end(room).await.is_empty());
    }
}

/// A router with the topic subscription `follow_topic(topic)`.
fn router(bus: Arc<RedisBus>) -> Router {
    let mut router = Router::new();
    let methods = TopicMethods {
        subscribe: "follow_topic",
        notification: "topic_item",
        unsubscribe: "unfollow_topic",
    };
    bus::serve_topic(&mut router, methods, bus, |params| {
        let (topic,): (String,) = params.parse()?;
        Ok(topic)
    })
    .unwrap();
    router
}

/// Runs `call`, which must fail as unavailable (not hang: the bound is
/// the bus's timeout), and says how long it took.
async fn refused<T>(call: impl std::future::Future<Output = Result<T, BusError>>) -> Duration {
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), call)
        .await
        .expect("an answer, not silence");
    match outcome {
        Err(BusError::Unavailable(_)) => {}
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("answered while Redis is away"),
    }
    let took = started.elapsed();
    println!("refused after {took:?} (bound {BOUND:?})");
    took
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_redis_is_paused_every_call_answers_in_its_bound_and_a_failed_join_leaves_nothing() {
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let node = node(&redis, Duration::from_secs(10)).await;
    let server = Server::builder()
        .build(router(node.bus.clone()))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::connect(&format!("ws://{}/", server.local_addr()))
        .await
        .unwrap();
    let mut live = node.bus.subscribe("room").await.unwrap();
    let at = bus::publish(&*node.bus, "room", &"before").await.unwrap();
    assert_eq!(next_item(&mut live).await, json!("before"));
    // Every script has run once, so Redis knows them all when it runs the
    // calls queued while it was paused.
    let phone = info(json!({ "device": "phone" }));
    let bob = node
        .presence
        .join("room", "bob", "h-bob", &phone)
        .await
        .unwrap();
    let bob = bob.claim().unwrap();
    node.presence.leave("room", "bob", bob).await.unwrap();
    assert_eq!(next_item(&mut live).await, joined("bob", "phone"));
    assert_eq!(next_item(&mut live).await, left("bob", "phone"));

    redis.pause();
    refused(node.bus.subscribe("room")).await;
    refused(node.bus.subscribe_from("room", Some(&at))).await;
    refused(node.presence.join("room", "ada", "h-ada", &phone)).await;
    refused(node.presence.members("room")).await;
    refused(node.presence.leave("room", "bob", bob)).await;
    // Over the wire: the subscribe call is refused with -32007.
    let started = Instant::now();
    let refused = client
        .subscribe::<String>("follow_topic", ["room"], "unfollow_topic")
        .await
        .unwrap_err();
    let error = refused.as_rpc().expect("an error object").clone();
    assert_eq!(error.code, ErrorCode::BUS_UNAVAILABLE, "{error:?}");
    println!(
        "the subscribe call was refused after {:?}",
        started.elapsed()
    );

    redis.resume();
    // The live subscription carries on; the failed join left nothing: its
    // cancel ran first, or the join ran and was told, and then its leave.
    bus::publish(&*node.bus, "room", &"after").await.unwrap();
    tokio::time::sleep(BOUND * 2).await;
    assert!(names(&node.presence, "room").await.is_empty());
    bus::publish(&*node.bus, "room", &"end").await.unwrap();
    let told = items_until_end(&mut live).await;
    let presence: Vec<_> = told
        .iter()
        .filter(|item| **item != json!("after"))
        .collect();
    assert!(told.contains(&json!("after")), "{told:?}");
    assert!(
        presence.is_empty() || presence == [&joined("ada", "phone"), &left("ada", "phone")],
        "{told:?}"
    );
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_redis_restarts_empty_a_live_follower_and_a_resuming_one_get_the_same() {
    if !redis::available() {
        return;
    }
    let mut redis = RedisServer::start();
    let node = node(&redis, Duration::from_secs(10)).await;
    let mut live = node.bus.subscribe("room").await.unwrap();
    let mut last: Option<Position> = None;
    for n in 0..3 {
        bus::publish(&*node.bus, "room", &n).await.unwrap();
    }
    for n in 0..3 {
        match live.next().await {
            Some(BusEvent::Item(item, at)) => {
                assert_eq!(item.get(), n.to_string());
                last = Some(at);
            }
            other => panic!("{other:?}"),
        }
    }

    redis.kill();
    refused(node.bus.subscribe("room")).await;
    redis.restart();
    tokio::time::timeout(Duration::from_secs(20), node.bus.listening())
        .await
        .expect("the bus reconnects");
    let mut published = 0;
    while published < 2 {
        if bus::publish(&*node.bus, "room", &(10 + published))
            .await
            .is_ok()
        {
            published += 1;
        } else {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mut resumed = node
        .bus
        .subscribe_from("room", last.as_ref())
        .await
        .unwrap();
    for stream in [&mut live, &mut resumed] {
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("an event in time")
                .unwrap();
            seen.push(match event {
                BusEvent::Resumed(Resume::Reset) => "reset".to_owned(),
                BusEvent::Item(item, at) => format!("{}@{}", item.get(), at.offset),
                other => panic!("{other:?}"),
            });
        }
        // The new epoch from its start, after saying it is new.
        assert_eq!(seen, ["reset", "10@1", "11@2"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_joined_again_on_another_node_keeps_its_name_when_the_old_join_leaves() {
    if !redis::available() {
        return;
    }
    let redis = RedisServer::start();
    let (a, b) = (
        node(&redis, Duration::from_secs(10)).await,
        node(&redis, Duration::from_secs(10)).await,
    );
    let mut room = b.bus.subscribe("room").await.unwrap();
    let phone = info(json!({ "device": "phone" }));
    // A page joins on node A, moves to node B and joins again with its key.
    let old = a
        .presence
        .join("room", "ada", "key-1", &phone)
        .await
        .unwrap();
    let new = b
        .presence
        .join("room", "ada", "key-1", &phone)
        .await
        .unwrap();
    assert!(matches!(new, Joined::Again(_)), "{new:?}");
    // Node A notices the old connection's end only now.
    let left_by_old = a
        .presence
        .leave("room", "ada", old.claim().unwrap())
        .await
        .unwrap();
    assert!(!left_by_old);
    assert_eq!(names(&b.presence, "room").await, ["ada"]);
    bus::publish(&*b.bus, "room", &"end").await.unwrap();
    assert_eq!(items_until_end(&mut room).await, [joined("ada", "phone")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_lost_with_redis_data_are_claimed_again_and_told() {
    if !redis::available() {
        return;
    }
    let mut redis = RedisServer::start();
    let node = node(&redis, Duration::from_millis(900)).await;
    let phone = info(json!({ "device": "phone" }));
    node.presence
        .join("room", "ada", "h-ada", &phone)
        .await
        .unwrap();
    redis.restart();
    tokio::time::timeout(Duration::from_secs(20), node.bus.listening())
        .await
        .expect("the bus reconnects");
    // The command connection notices the restart on its first use.
    let mut room = None;
    for _ in 0..50 {
        if let Ok(stream) = node.bus.subscribe("room").await {
            room = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut room = room.expect("subscribed once Redis is back");
    // The heartbeat finds ada gone and claims her again, telling it.
    assert_eq!(next_item(&mut room).await, joined("ada", "phone"));
    assert_eq!(names(&node.presence, "room").await, ["ada"]);
}
