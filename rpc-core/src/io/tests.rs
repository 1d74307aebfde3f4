//! The engine over an in-memory pipe: no sockets, the real framing.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::DuplexStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

use super::{Connection, WsMessage};
use crate::protocol::ErrorObject;
use crate::router::{Context, Params, Router};
use crate::session::{ConnectionConfig, PendingSubscription, SinkConfig, SubscriptionEvent};

async fn pipe() -> (WebSocketStream<DuplexStream>, WebSocketStream<DuplexStream>) {
    let (left, right) = tokio::io::duplex(64 * 1024);
    let server = WebSocketStream::from_raw_socket(left, Role::Server, None).await;
    let client = WebSocketStream::from_raw_socket(right, Role::Client, None).await;
    (server, client)
}

/// `add(a, b)`, `wait()` (returns once the test adds a permit to `gate`),
/// and `count(n)`, a subscription of n items.
fn router(gate: Arc<Semaphore>) -> Router {
    let mut router = Router::new();
    router
        .method("add", |params: Params<'_>, _: &Context| {
            let (a, b): (i64, i64) = params.parse()?;
            Ok(async move { Ok::<_, ErrorObject>(a + b) })
        })
        .unwrap()
        .method("wait", move |_: Params<'_>, _: &Context| {
            let gate = gate.clone();
            Ok(async move {
                gate.acquire().await.unwrap().forget();
                Ok::<_, ErrorObject>("waited")
            })
        })
        .unwrap()
        .subscription(
            "count",
            "counted",
            "stop_count",
            SinkConfig::default(),
            |params: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                let (n,): (u64,) = params.parse()?;
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    for i in 0..n {
                        if sink.send(&i).await.is_err() {
                            return;
                        }
                    }
                })
            },
        )
        .unwrap();
    router
}

#[tokio::test]
async fn two_engines_call_and_subscribe_over_a_pipe() {
    let (server_end, client_end) = pipe().await;
    let server = Connection::new(router(Arc::new(Semaphore::new(0)))).spawn(server_end);
    let mut doubler = Router::new();
    doubler
        .method("double", |params: Params<'_>, _: &Context| {
            let (x,): (i64,) = params.parse()?;
            Ok(async move { Ok::<_, ErrorObject>(2 * x) })
        })
        .unwrap();
    let client = Connection::new(doubler).spawn(client_end);
    assert_eq!(client.call::<i64>("add", [2, 3]).await.unwrap(), 5);
    // The other way over the same pipe.
    assert_eq!(server.call::<i64>("double", [21]).await.unwrap(), 42);
    let mut counted = client
        .subscribe::<u64>("count", [3], "stop_count")
        .await
        .unwrap();
    for expected in 0..3 {
        match counted.next().await {
            Some(SubscriptionEvent::Item(n)) => assert_eq!(n, expected),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        counted.next().await,
        Some(SubscriptionEvent::Ended)
    ));
    client.close().await;
    assert_eq!(server.closed().await.code, Some(1000));
}

/// Sends raw text frames and reads the ids of the answers, in order.
async fn answers(socket: &mut WebSocketStream<DuplexStream>, count: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    while ids.len() < count {
        let next = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("an answer")
            .expect("open")
            .expect("readable");
        if let WsMessage::Text(text) = next {
            let reply: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
            ids.push(reply["id"].as_u64().unwrap());
        }
    }
    ids
}

#[tokio::test]
async fn requests_beyond_the_in_flight_bound_wait_their_turn() {
    let (server_end, mut raw) = pipe().await;
    let gate = Arc::new(Semaphore::new(0));
    let config = ConnectionConfig {
        max_in_flight: 1,
        ..ConnectionConfig::default()
    };
    Connection::new(router(gate.clone()))
        .config(config)
        .spawn(server_end);
    // `wait` takes the one permit; the `add`s behind it are parked, so even
    // though they would finish at once they are answered after it.
    raw.send(WsMessage::text(
        r#"{"jsonrpc":"2.0","method":"wait","id":1}"#,
    ))
    .await
    .unwrap();
    for id in 2..=4 {
        let call = format!(r#"{{"jsonrpc":"2.0","method":"add","params":[1,1],"id":{id}}}"#);
        raw.send(WsMessage::text(call)).await.unwrap();
    }
    // Give the engine time to read and park; then open the gate.
    tokio::time::sleep(Duration::from_millis(50)).await;
    gate.add_permits(1);
    assert_eq!(answers(&mut raw, 4).await, [1, 2, 3, 4]);
}

#[tokio::test]
async fn a_close_frame_is_read_while_items_stream() {
    let (server_end, mut raw) = pipe().await;
    let server = Connection::new(router(Arc::new(Semaphore::new(0)))).spawn(server_end);
    let subscribe = format!(
        r#"{{"jsonrpc":"2.0","method":"count","params":[{}],"id":1}}"#,
        u64::MAX
    );
    raw.send(WsMessage::text(subscribe)).await.unwrap();
    for _ in 0..1_000 {
        raw.next().await.unwrap().unwrap();
    }
    raw.close(None).await.unwrap();
    loop {
        match raw.next().await {
            Some(Ok(WsMessage::Close(_))) | None => break,
            Some(Ok(_)) => {}
            Some(Err(err)) => panic!("{err}"),
        }
    }
    assert_eq!(server.closed().await.code, Some(1005));
}
