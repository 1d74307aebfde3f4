//! Subscriptions that carry on after a dropped connection: every item of a
//! topic has a position, and a client that resubscribes from its last
//! position gets what it missed exactly once, in order — or is told exactly
//! what it cannot get.

#[path = "common/topics.rs"]
mod topics;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wirecall::bus::{self, InProcessBus, Position};
use wirecall::{
    Client, Context, ErrorCode, ErrorObject, Params, Router, Server, ServerHandle, Subscription,
    SubscriptionEvent,
};

/// `publish(n)` puts n on the topic `numbers`; `follow` subscribes to it.
fn router(bus: Arc<InProcessBus>) -> Router {
    let mut router = Router::new();
    let publisher = bus.clone();
    router
        .method("publish", move |params: Params<'_>, _: &Context| {
            let (n,): (u64,) = params.parse()?;
            let publisher = publisher.clone();
            Ok(async move {
                bus::publish(&*publisher, "numbers", &n).await?;
                Ok::<_, ErrorObject>(n)
            })
        })
        .unwrap();
    topics::follow_numbers(&mut router, bus);
    router
}

async fn start(bus: InProcessBus) -> (ServerHandle, String) {
    let server = Server::builder()
        .build(router(Arc::new(bus)))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    (server, url)
}

async fn next<T: serde::de::DeserializeOwned>(
    stream: &mut Subscription<T>,
) -> SubscriptionEvent<T> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event in time")
        .expect("the stream is open")
}

/// Opens `follow`, from `since` when given.
async fn follow(client: &Client, since: Option<&Position>) -> Subscription<u64> {
    match since {
        Some(since) => client.subscribe_from("follow", (), "unfollow", since).await,
        None => client.subscribe("follow", (), "unfollow").await,
    }
    .unwrap()
}

#[tokio::test]
async fn every_item_arrives_once_in_order_across_dropped_connections() {
    const TOTAL: u64 = 3_000;
    let (_server, url) =
        start(InProcessBus::default().with_history(10_000, Duration::from_secs(60))).await;
    let first = Client::connect(&url).await.unwrap();
    let mut stream = follow(&first, None).await;
    // Published without pause, while the subscriber keeps dropping its connection.
    let publisher = Client::connect(&url).await.unwrap();
    let publishing = tokio::spawn(async move {
        for n in 0..TOTAL {
            assert_eq!(publisher.call::<u64>("publish", [n]).await.unwrap(), n);
        }
    });
    let mut client = first;
    let (mut expected, mut resumes, mut cuts) = (0, 0, 0);
    while expected < TOTAL {
        match next(&mut stream).await {
            SubscriptionEvent::Item(n) => {
                assert_eq!(n, expected, "an item out of order or twice");
                expected += 1;
            }
            SubscriptionEvent::Resumed => {
                resumes += 1;
                continue;
            }
            other => panic!("unexpected {other:?} at {expected}"),
        }
        // Cut the connection every 250 items, mid-stream.
        if expected % 250 == 0 && expected < TOTAL {
            let since = stream.position().expect("items carry positions");
            client.close().await;
            cuts += 1;
            client = Client::connect(&url).await.unwrap();
            stream = follow(&client, Some(&since)).await;
        }
    }
    publishing.await.unwrap();
    assert_eq!(resumes, cuts, "one Resumed per cut");
    assert!(cuts >= 10);
}

#[tokio::test]
async fn a_gap_beyond_history_is_reported_with_its_exact_size() {
    let (_server, url) =
        start(InProcessBus::default().with_history(10, Duration::from_secs(60))).await;
    let client = Client::connect(&url).await.unwrap();
    let mut stream = follow(&client, None).await;
    for n in 0..5u64 {
        client.call::<u64>("publish", [n]).await.unwrap();
    }
    for n in 0..5u64 {
        assert!(matches!(next(&mut stream).await, SubscriptionEvent::Item(got) if got == n));
    }
    let since = stream.position().unwrap();
    drop(stream);
    // 50 more while away; history keeps only the last 10.
    for n in 5..55u64 {
        client.call::<u64>("publish", [n]).await.unwrap();
    }
    let mut resumed = follow(&client, Some(&since)).await;
    assert!(matches!(
        next(&mut resumed).await,
        SubscriptionEvent::Gap(40)
    ));
    for n in 45..55u64 {
        assert!(matches!(next(&mut resumed).await, SubscriptionEvent::Item(got) if got == n));
    }
    client.call::<u64>("publish", [55]).await.unwrap();
    assert!(matches!(
        next(&mut resumed).await,
        SubscriptionEvent::Item(55)
    ));
}

#[tokio::test]
async fn a_restarted_server_says_the_history_is_gone() {
    let (server, url) = start(InProcessBus::default()).await;
    let client = Client::connect(&url).await.unwrap();
    let mut stream = follow(&client, None).await;
    client.call::<u64>("publish", [1]).await.unwrap();
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(1)
    ));
    let since = stream.position().unwrap();
    server.shutdown().await;

    let (_again, url) = start(InProcessBus::default()).await;
    let client = Client::connect(&url).await.unwrap();
    let mut resumed = follow(&client, Some(&since)).await;
    assert!(matches!(
        next(&mut resumed).await,
        SubscriptionEvent::Restarted
    ));
    client.call::<u64>("publish", [2]).await.unwrap();
    assert!(matches!(
        next(&mut resumed).await,
        SubscriptionEvent::Item(2)
    ));
}

#[tokio::test]
async fn a_plain_client_sees_the_usual_items_with_one_extra_member() {
    let (_server, url) = start(InProcessBus::default()).await;
    let (mut raw, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    raw.send(Message::text(
        r#"{"jsonrpc":"2.0","method":"follow","id":1}"#,
    ))
    .await
    .unwrap();
    let Some(Ok(Message::Text(answer))) = raw.next().await else {
        panic!("no answer")
    };
    let answer: serde_json::Value = serde_json::from_str(answer.as_str()).unwrap();
    let id = answer["result"].clone();
    let client = Client::connect(&url).await.unwrap();
    client.call::<u64>("publish", [7]).await.unwrap();
    let Some(Ok(Message::Text(item))) = raw.next().await else {
        panic!("no item")
    };
    let item: serde_json::Value = serde_json::from_str(item.as_str()).unwrap();
    assert_eq!(item["jsonrpc"], "2.0");
    assert_eq!(item["method"], "number");
    assert_eq!(item["params"]["subscription"], id);
    assert_eq!(item["params"]["result"], 7);
    assert_eq!(item["params"]["position"]["offset"], 1);
    assert!(item["params"]["position"]["epoch"].is_string());
    assert_eq!(item["params"].as_object().unwrap().len(), 3, "{item}");
}

#[tokio::test]
async fn resuming_what_is_no_subscription_is_refused() {
    let (_server, url) = start(InProcessBus::default()).await;
    let client = Client::connect(&url).await.unwrap();
    let since = Position {
        epoch: Arc::from("e"),
        offset: 1,
    };
    let refused = client
        .subscribe_from::<u64>("publish", [1], "unfollow", &since)
        .await
        .unwrap_err();
    assert_eq!(refused.as_rpc().unwrap().code, ErrorCode::MethodNotFound);
    let garbled = client
        .call::<String>("rpc.resume", [1, 2])
        .await
        .unwrap_err();
    assert_eq!(garbled.as_rpc().unwrap().code, ErrorCode::InvalidParams);
}
