//! Each of wirecall's own error codes (the table on `ErrorCode`), produced
//! over a real socket the way a user meets it.

#[path = "common/counting.rs"]
mod counting;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wirecall::{
    CallError, Client, Context, ErrorCode, ErrorObject, OverflowPolicy, Params,
    PendingSubscription, Router, Server, ServerHandle, SinkConfig, SubscriptionEvent,
};

/// `count(n)` pushes n items and ends; `flood` pushes faster than a buffer
/// of one under the Close policy allows; `forever` stays open and silent; `fake_subscribe` and
/// `fake_unsubscribe` are plain methods that look like a subscription whose
/// server refuses to end it.
fn router() -> Router {
    let mut router = Router::new();
    counting::serve_counting(
        &mut router,
        ["count", "counted", "stop_count"],
        SinkConfig::default(),
    );
    router
        .subscription(
            "flood",
            "flooded",
            "stop_flood",
            SinkConfig {
                buffer: 1,
                policy: OverflowPolicy::Close,
            },
            |_: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    // Never waits, so the forwarder cannot drain the buffer
                    // between two sends.
                    for i in 0..100 {
                        if sink.send(&i).await.is_err() {
                            return;
                        }
                    }
                    sink.closed().await;
                })
            },
        )
        .unwrap()
        .subscription(
            "forever",
            "never",
            "stop_forever",
            SinkConfig::default(),
            |_: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    sink.closed().await;
                })
            },
        )
        .unwrap()
        .method("fake_subscribe", |_: Params<'_>, _: &Context| {
            Ok(async { Ok::<_, ErrorObject>("fake-1") })
        })
        .unwrap()
        .method("fake_unsubscribe", |_: Params<'_>, _: &Context| {
            Ok(async { Ok::<_, ErrorObject>(false) })
        })
        .unwrap();
    router
}

async fn start(builder: wirecall::server::ServerBuilder) -> (ServerHandle, Client) {
    serve_on(builder, router()).await
}

/// Serves `router` with `builder` on 127.0.0.1:0, and a client on it.
async fn serve_on(
    builder: wirecall::server::ServerBuilder,
    router: Router,
) -> (ServerHandle, Client) {
    let server = builder.build(router).bind("127.0.0.1:0").await.unwrap();
    let client = Client::connect(&format!("ws://{}/", server.local_addr()))
        .await
        .unwrap();
    (server, client)
}

/// Reads events until the stream ends: `None` for a normal end, else why.
async fn end_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(
    mut stream: wirecall::Subscription<T>,
) -> Option<ErrorObject> {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("the subscription never ended");
        match event {
            Some(SubscriptionEvent::Ended) => return None,
            Some(SubscriptionEvent::Closed(why)) => return Some(why),
            Some(_) => {}
            None => panic!("the stream ended without saying why"),
        }
    }
}

#[tokio::test]
async fn subscription_ended_when_the_handler_finishes() {
    let (server, client) = start(Server::builder()).await;
    let stream = client
        .subscribe::<u64>("count", [2], "stop_count")
        .await
        .unwrap();
    // A wirecall client reads it as a normal end…
    assert!(end_of(stream).await.is_none());
    // …and on the wire it is an end notice of its own, not an error, so a
    // plain client does not read it as a failure.
    let url = format!("ws://{}/", server.local_addr());
    let (mut raw, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let subscribe = r#"{"jsonrpc":"2.0","method":"count","params":[0],"id":1}"#;
    raw.send(Message::text(subscribe)).await.unwrap();
    let end = loop {
        let Some(Ok(Message::Text(text))) = raw.next().await else {
            panic!("no end notice")
        };
        let frame: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        // Past the subscribe call's answer and the items: the end notice.
        if frame.get("method").is_some() && frame["params"].get("result").is_none() {
            break frame;
        }
    };
    assert_eq!(end["params"]["ended"], true, "{end}");
    assert!(end["params"].get("error").is_none(), "{end}");
    assert_eq!(ErrorCode::SUBSCRIPTION_ENDED.code(), -32000);
}

#[tokio::test]
async fn slow_subscriber_under_the_close_policy() {
    let (_server, client) = start(Server::builder()).await;
    let stream = client
        .subscribe::<u64>("flood", (), "stop_flood")
        .await
        .unwrap();
    assert_eq!(
        end_of(stream).await.unwrap().code,
        ErrorCode::SLOW_SUBSCRIBER
    );
    assert_eq!(ErrorCode::SLOW_SUBSCRIBER.code(), -32001);
}

#[tokio::test]
async fn too_many_subscriptions_beyond_the_limit() {
    let (_server, client) = start(Server::builder().max_subscriptions(1)).await;
    let _first = client
        .subscribe::<u64>("forever", (), "stop_forever")
        .await
        .unwrap();
    let refused = client
        .subscribe::<u64>("count", [1_000_000], "stop_count")
        .await
        .unwrap_err();
    let code = refused.as_rpc().expect("an error object").code;
    assert_eq!(code, ErrorCode::TOO_MANY_SUBSCRIPTIONS);
    assert_eq!(code.code(), -32002);
}

#[tokio::test]
async fn connection_closed_ends_received_subscriptions() {
    let (server, client) = start(Server::builder()).await;
    let stream = client
        .subscribe::<u64>("forever", (), "stop_forever")
        .await
        .unwrap();
    server.shutdown().await;
    let why = end_of(stream).await.unwrap();
    assert_eq!(why.code, ErrorCode::CONNECTION_CLOSED, "{why:?}");
    assert_eq!(ErrorCode::CONNECTION_CLOSED.code(), -32003);
}

#[tokio::test]
async fn unsubscribe_refused_when_the_server_answers_false() {
    let (_server, client) = start(Server::builder()).await;
    let fake = client
        .subscribe::<u64>("fake_subscribe", (), "fake_unsubscribe")
        .await
        .unwrap();
    let refused = fake.unsubscribe().await.unwrap_err();
    let CallError::Rpc(error) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(error.code, ErrorCode::UNSUBSCRIBE_REFUSED);
    assert_eq!(ErrorCode::UNSUBSCRIBE_REFUSED.code(), -32004);
}

/// A server whose router has one more layer, and a client on it.
async fn start_with_layer(layer: impl wirecall::middleware::Layer) -> (ServerHandle, Client) {
    let mut router = router();
    router
        .method("stall", |_: Params<'_>, _: &Context| {
            Ok(async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                Ok::<_, ErrorObject>(())
            })
        })
        .unwrap();
    router.layer(layer);
    serve_on(Server::builder(), router).await
}

#[tokio::test]
async fn rate_limited_past_the_burst() {
    let limit = wirecall::middleware::RateLimit::per_connection(0.5, 1);
    let (_server, client) = start_with_layer(limit).await;
    let stream = client
        .subscribe::<u64>("count", (1,), "stop_count")
        .await
        .unwrap();
    assert_eq!(end_of(stream).await, None, "the first call passes");
    let refused = client
        .subscribe::<u64>("count", (1,), "stop_count")
        .await
        .unwrap_err();
    let CallError::Rpc(error) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(error.code, ErrorCode::RATE_LIMITED);
    assert_eq!(ErrorCode::RATE_LIMITED.code(), -32005);
}

#[tokio::test]
async fn timed_out_past_the_limit() {
    let limit = wirecall::middleware::Timeout::new(Duration::from_millis(50));
    let (_server, client) = start_with_layer(limit).await;
    let refused = client.call::<()>("stall", ()).await.unwrap_err();
    let CallError::Rpc(error) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(error.code, ErrorCode::TIMED_OUT);
    assert_eq!(ErrorCode::TIMED_OUT.code(), -32006);
}
