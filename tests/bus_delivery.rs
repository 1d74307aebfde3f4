//! A bus writes each published item straight into its subscriptions (an
//! in-process bus as it publishes, a Redis bus as the node's feed of the
//! topic receives it). A subscription that cannot take an item is passed
//! by, catches up from the topic's history and is then fed again: nothing
//! lost, nothing doubled, the publisher never held up. A raw socket that
//! does not read stands in for the slow client, so nothing on our side
//! helps.

#[path = "common/redis.rs"]
mod redis;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use wirecall::bus::{self, Bus, InProcessBus, RedisBus};
use wirecall::{Context, Params, PendingSubscription, Router, SinkConfig};

/// Enough bytes to fill the sink's buffer, the connection's queue and both
/// sockets' kernel buffers many times over.
const ITEMS: u64 = 12_000;
const ITEM_BYTES: usize = 2048;

async fn serve(bus: Arc<dyn Bus>) -> wirecall::ServerHandle {
    let mut router = Router::new();
    let config = SinkConfig {
        buffer: 4,
        ..SinkConfig::default()
    };
    router
        .subscription(
            "subscribe_feed",
            "feed",
            "unsubscribe_feed",
            config,
            move |_: Params<'_>, _: &Context, pending: PendingSubscription<Value>| {
                let bus = bus.clone();
                Ok(async move { bus::follow(&*bus, "feed", pending).await })
            },
        )
        .unwrap();
    wirecall::Server::builder()
        .build(router)
        .bind("127.0.0.1:0")
        .await
        .unwrap()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next_json(socket: &mut Socket) -> Value {
    let message = tokio::time::timeout(Duration::from_secs(20), socket.next())
        .await
        .expect("a frame within 20 s")
        .expect("socket open")
        .expect("read ok");
    let Message::Text(text) = message else {
        panic!("not text: {message:?}")
    };
    serde_json::from_str(text.as_str()).unwrap()
}

/// Subscribes over a raw socket and returns it once answered, with the
/// subscription's id.
async fn subscribe_with_id(server: &wirecall::ServerHandle) -> (Socket, Value) {
    let url = format!("ws://{}/", server.local_addr());
    let mut socket = tokio_tungstenite::connect_async(url).await.unwrap().0;
    let call = r#"{"jsonrpc":"2.0","method":"subscribe_feed","id":1}"#;
    socket.send(Message::text(call)).await.unwrap();
    let reply = next_json(&mut socket).await;
    assert!(reply["result"].is_string(), "{reply}");
    (socket, reply["result"].clone())
}

async fn subscribe(server: &wirecall::ServerHandle) -> Socket {
    subscribe_with_id(server).await.0
}

/// Publishes every item without reading; all of them must go through at
/// once, whatever the subscriber does.
async fn publish_all(bus: &dyn Bus) {
    let padding = "x".repeat(ITEM_BYTES);
    for n in 1..=ITEMS {
        let item = serde_json::json!({ "n": n, "padding": padding });
        bus::publish(bus, "feed", &item).await.unwrap();
    }
}

/// Reads until `ITEMS` are accounted for: answers each item's number and
/// the total the lag notices named.
async fn read_all(socket: &mut Socket) -> (Vec<u64>, u64) {
    let (mut seen, mut lagged) = (Vec::new(), 0);
    while seen.len() as u64 + lagged < ITEMS {
        let frame = next_json(socket).await;
        let params = &frame["params"];
        if let Some(missed) = params["lagged"].as_u64() {
            lagged += missed;
            continue;
        }
        let n = params["result"]["n"]
            .as_u64()
            .unwrap_or_else(|| panic!("{frame}"));
        assert_eq!(params["position"]["offset"].as_u64(), Some(n));
        seen.push(n);
    }
    (seen, lagged)
}

/// Publishes everything while the subscriber reads nothing, then checks
/// it gets every item once, in order.
async fn catches_up_with_nothing_lost(bus: Arc<dyn Bus>) {
    let server = serve(bus.clone()).await;
    let mut socket = subscribe(&server).await;
    publish_all(&*bus).await;
    let (seen, lagged) = read_all(&mut socket).await;
    assert_eq!(lagged, 0, "history held everything it missed");
    assert_eq!(seen, (1..=ITEMS).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_subscriber_that_fell_behind_catches_up_from_history_with_nothing_lost() {
    let history = Duration::from_secs(300);
    let bus = InProcessBus::default().with_history(ITEMS as usize, history);
    catches_up_with_nothing_lost(Arc::new(bus)).await;
}

#[tokio::test]
async fn through_redis_a_subscriber_that_fell_behind_catches_up_with_nothing_lost() {
    if !redis::available() {
        return;
    }
    let redis = redis::RedisServer::start();
    let bus = RedisBus::builder(redis.url())
        .history(ITEMS as usize, Duration::from_secs(600))
        .connect()
        .await
        .unwrap();
    catches_up_with_nothing_lost(Arc::new(bus)).await;
}

#[tokio::test]
async fn without_history_a_subscriber_that_fell_behind_is_told_exactly_what_it_missed() {
    let bus = Arc::new(InProcessBus::default().with_history(0, Duration::ZERO));
    let server = serve(bus.clone()).await;
    let mut socket = subscribe(&server).await;
    publish_all(&*bus).await;
    let (seen, lagged) = read_all(&mut socket).await;
    assert!(
        lagged > 0,
        "{ITEMS} items of {ITEM_BYTES} bytes cannot all be buffered"
    );
    assert!(
        seen.windows(2).all(|pair| pair[0] < pair[1]),
        "in order, once each"
    );
    // Whatever arrives after the loss is live again.
    bus::publish(&*bus, "feed", &serde_json::json!({ "n": ITEMS + 1 }))
        .await
        .unwrap();
    let frame = next_json(&mut socket).await;
    assert_eq!(frame["params"]["result"]["n"], ITEMS + 1, "{frame}");
}

#[tokio::test]
async fn an_unsubscribe_leaves_the_other_subscribers_fed() {
    let bus = Arc::new(InProcessBus::default());
    let server = serve(bus.clone()).await;
    let mut sockets = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (socket, id) = subscribe_with_id(&server).await;
        sockets.push(socket);
        ids.push(id);
    }
    let mut published = 0;
    // Each round ends one subscription (the middle one unsubscribes, then
    // the first one's connection closes), and the rest still get every item.
    for leaving in [1, 0] {
        published += 1;
        bus::publish(&*bus, "feed", &serde_json::json!({ "n": published }))
            .await
            .unwrap();
        for socket in &mut sockets {
            let frame = next_json(socket).await;
            assert_eq!(frame["params"]["result"]["n"], published, "{frame}");
        }
        let mut gone = sockets.remove(leaving);
        let id = ids.remove(leaving);
        if leaving == 1 {
            let call = format!(
                r#"{{"jsonrpc":"2.0","method":"unsubscribe_feed","params":[{id}],"id":2}}"#
            );
            gone.send(Message::text(call)).await.unwrap();
            assert_eq!(next_json(&mut gone).await["result"], true);
        } else {
            gone.close(None).await.unwrap();
        }
    }
    for n in published + 1..=published + 3 {
        bus::publish(&*bus, "feed", &serde_json::json!({ "n": n }))
            .await
            .unwrap();
        let frame = next_json(&mut sockets[0]).await;
        assert_eq!(frame["params"]["result"]["n"], n, "{frame}");
    }
}
