//! One connection opens every subscription it may (1 024), then stops
//! reading while each is fed as fast as it goes. Each sink's buffer holds
//! 1 024 items, so without a bound on their sum the server would hold
//! about 150 MiB for this one peer; the connection's byte budget keeps it
//! to a few MiB, and other clients are answered meanwhile.
//!
//! Alone in its test binary, so the process's RSS is this test's alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use wirecall::client::Client;
use wirecall::server::Server;
use wirecall::{
    ConnectionConfig, Context, ErrorObject, Params, Peer, PendingSubscription, Router, SinkConfig,
};

const SUBSCRIPTIONS: usize = 1024;
const BUDGET: usize = 4 << 20;

/// The process's resident memory, in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// `add(a, b)`, and `flood()`: once `go` turns true, items of about 150
/// bytes as fast as the sink takes them. The first flood's connection is
/// kept in `seen`.
fn router(go: watch::Receiver<bool>, seen: Arc<Mutex<Option<Peer>>>) -> Router {
    let mut router = Router::new();
    router
        .method("add", |p: Params<'_>, _: &Context| {
            let (a, b): (i64, i64) = p.parse()?;
            Ok(async move { Ok::<_, ErrorObject>(a + b) })
        })
        .unwrap();
    router
        .subscription(
            "flood",
            "flood_item",
            "unflood",
            SinkConfig::default(),
            move |_: Params<'_>, ctx: &Context, pending: PendingSubscription<String>| {
                let mut go = go.clone();
                let peer = ctx.peer().cloned();
                seen.lock().unwrap().get_or_insert_with(|| peer.unwrap());
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    if go.wait_for(|go| *go).await.is_err() {
                        return;
                    }
                    let item = "x".repeat(100);
                    while sink.send(&item).await.is_ok() {}
                })
            },
        )
        .unwrap();
    router
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_reading_1024_subscriptions_holds_a_bounded_amount() {
    let (go, going) = watch::channel(false);
    let seen = Arc::new(Mutex::new(None));
    let config = ConnectionConfig::default()
        .subscription_bytes(BUDGET)
        // Long enough that the stalled connection is measured, not dropped.
        .write_timeout(Duration::from_secs(120));
    let handle = Server::builder()
        .connection_config(config)
        .build(router(going, seen.clone()))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", handle.local_addr());

    // Subscribe 1 024 times and read every answer, then read no more.
    let (mut stalled, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    for id in 0..SUBSCRIPTIONS {
        let call = format!(r#"{{"jsonrpc":"2.0","method":"flood","id":{id}}}"#);
        stalled.send(Message::text(call)).await.unwrap();
    }
    let mut answered = 0;
    while answered < SUBSCRIPTIONS {
        let frame = tokio::time::timeout(Duration::from_secs(10), stalled.next())
            .await
            .expect("every subscribe call is answered")
            .unwrap()
            .unwrap();
        let reply: serde_json::Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
        assert!(reply["result"].is_string(), "{reply}");
        answered += 1;
    }
    let server_peer = seen.lock().unwrap().clone().unwrap();
    let before = rss();
    go.send_replace(true);

    // Let the server fill every buffer it will; stop once memory is still.
    let mut samples = vec![rss()];
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        samples.push(rss());
        let last = &samples[samples.len().saturating_sub(6)..];
        let settled =
            last.len() == 6 && last.iter().max().unwrap() - last.iter().min().unwrap() < 1 << 20;
        if settled && server_peer.buffered_subscription_bytes() >= BUDGET {
            break;
        }
    }
    let grown = rss().saturating_sub(before);
    let buffered = server_peer.buffered_subscription_bytes();
    println!("RSS grew by {} KiB; {buffered} bytes buffered", grown >> 10);
    // The budget is what held: the sinks hold it, and little past it.
    assert!(buffered >= BUDGET, "{buffered} bytes buffered");
    assert!(
        buffered < BUDGET + SUBSCRIPTIONS * 200,
        "{buffered} bytes buffered"
    );
    assert!(grown < 64 << 20, "RSS grew by {} MiB", grown >> 20);

    // Another client is served while that peer stalls.
    let other = Client::connect(&url).await.unwrap();
    let sum: i64 = tokio::time::timeout(Duration::from_secs(10), other.call("add", (2, 3)))
        .await
        .expect("another client is answered")
        .unwrap();
    assert_eq!(sum, 5);
    other.close().await;
    drop(stalled);
    handle.shutdown().await;
}
