//! The connection engine over real sockets on 127.0.0.1: multiplexed calls,
//! subscriptions with and without loss, calls from server to client,
//! batches, and what happens when a connection ends.

#[path = "common/server.rs"]
mod server;

use std::time::Duration;

use wirecall::client::Client;
use wirecall::Batch;
use wirecall::{CallError, Context, ErrorObject, Params, Router, SubscriptionEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_share_one_client_without_cross_talk() {
    let (_server, url) = server::start_default().await;
    let client = Client::connect(&url).await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..64i64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            for call in 0..500i64 {
                let a = task * 1_000_000 + call;
                let sum: i64 = client.call("add", [a, task]).await.unwrap();
                assert_eq!(sum, a + task);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(client.pending_calls(), 0);
}

#[tokio::test]
async fn a_subscription_delivers_every_item_in_order() {
    let (_server, url) = server::start_default().await;
    // Room for every item: the server writes them faster than this loop
    // takes them, and a smaller queue would (rightly) report lag instead;
    // the next test checks that.
    let client = Client::builder()
        .subscription_buffer(100_000)
        .connect(&url)
        .await
        .unwrap();
    let mut items = client
        .subscribe::<u64>("subscribe_count", [100_000], "unsubscribe_count")
        .await
        .unwrap();
    for expected in 0..100_000u64 {
        match items.next().await {
            Some(SubscriptionEvent::Item(got)) => assert_eq!(got, expected),
            other => panic!("expected item {expected}, got {other:?}"),
        }
    }
    match items.next().await {
        Some(SubscriptionEvent::Ended) => {}
        other => panic!("expected the end notice, got {other:?}"),
    }
    assert!(items.next().await.is_none());
}

#[tokio::test]
async fn a_slow_reader_sees_exact_lag_and_the_server_stays_bounded() {
    const TOTAL: u64 = 20_000;
    let (handle, url) = server::start_default().await;
    let client = Client::builder()
        .subscription_buffer(8)
        .connect(&url)
        .await
        .unwrap();
    let mut events = client
        .subscribe::<u64>("subscribe_burst", [TOTAL], "unsubscribe_burst")
        .await
        .unwrap();
    let mut last: Option<u64> = None;
    let mut lagged_since_last = 0u64;
    let (mut received, mut dropped) = (0u64, 0u64);
    while last != Some(TOTAL - 1) {
        for peer in handle.server().peers() {
            assert!(
                peer.max_subscription_backlog() <= 16,
                "server buffer over its bound"
            );
            assert!(peer.queued_frames() <= 256, "outbound queue over its bound");
        }
        match tokio::time::timeout(Duration::from_secs(20), events.next())
            .await
            .unwrap()
        {
            Some(SubscriptionEvent::Item(i)) => {
                let expected = last.map_or(0, |l| l + 1) + lagged_since_last;
                assert_eq!(i, expected, "gap not matched by the lag notices");
                last = Some(i);
                lagged_since_last = 0;
                received += 1;
                if received % 100 == 0 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            Some(SubscriptionEvent::Lagged(n)) => {
                assert!(n > 0);
                lagged_since_last += n;
                dropped += n;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(received + dropped, TOTAL);
    assert!(dropped > 0, "the reader was meant to fall behind");
}

/// What the client serves to the server: `double(x)`.
fn doubling_router() -> Router {
    let mut router = Router::new();
    router
        .method("double", |p: Params<'_>, _: &Context| {
            let x: i64 = p.reader()?.next("x")?;
            Ok(async move { Ok::<_, ErrorObject>(x * 2) })
        })
        .unwrap();
    router
}

#[tokio::test]
async fn the_server_calls_the_client_during_a_subscription() {
    let (_server, url) = server::start_default().await;
    let client = Client::builder()
        .router(doubling_router())
        .connect(&url)
        .await
        .unwrap();
    let mut events = client
        .subscribe::<i64>("subscribe_ask", [21], "unsubscribe_ask")
        .await
        .unwrap();
    assert!(matches!(
        events.next().await,
        Some(SubscriptionEvent::Item(21))
    ));
    assert!(matches!(
        events.next().await,
        Some(SubscriptionEvent::Item(42))
    ));
}

#[tokio::test]
async fn dropping_the_stream_unsubscribes_and_unsubscribing_again_still_holds() {
    let (handle, url) = server::start_default().await;
    let client = Client::connect(&url).await.unwrap();
    let events = client
        .subscribe::<u64>("subscribe_forever", (), "unsubscribe_forever")
        .await
        .unwrap();
    let id: serde_json::Value = serde_json::from_str(&events.id()).unwrap();
    let served = || {
        handle
            .server()
            .peers()
            .iter()
            .map(wirecall::Peer::served_subscriptions)
            .sum::<usize>()
    };
    assert_eq!(served(), 1);
    drop(events);
    for _ in 0..100 {
        if served() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(served(), 0);
    // Ended already: unsubscribing again answers `true`, as it would have.
    let again = client
        .call::<bool>("unsubscribe_forever", [id])
        .await
        .unwrap();
    assert!(again);
    let unknown = client
        .call::<bool>("unsubscribe_forever", ["nope"])
        .await
        .unwrap_err();
    assert_eq!(unknown.as_rpc().unwrap().code.code(), -32602);
    let events = client
        .subscribe::<u64>("subscribe_forever", (), "unsubscribe_forever")
        .await
        .unwrap();
    events.unsubscribe().await.unwrap();
}

#[tokio::test]
async fn batches_notifications_and_errors() {
    let (_server, url) = server::start_default().await;
    let client = Client::connect(&url).await.unwrap();
    let mut batch = Batch::new();
    let three = batch.call::<i64>("add", [1, 2]).unwrap();
    let hi = batch.call::<String>("echo", ["hi"]).unwrap();
    let missing = batch.call::<i64>("nope", ()).unwrap();
    batch.notify("echo", ["ignored"]).unwrap();
    let mut answers = client.batch(batch).await.unwrap();
    assert_eq!(answers.take(&three).unwrap(), 3);
    assert_eq!(answers.take(&hi).unwrap(), "hi");
    assert_eq!(
        answers
            .take(&missing)
            .unwrap_err()
            .as_rpc()
            .unwrap()
            .code
            .code(),
        -32601
    );
    client.notify("echo", ["fire and forget"]).await.unwrap();
    let by_name: i64 = client
        .call("add", serde_json::json!({"b": 2, "a": 40}))
        .await
        .unwrap();
    assert_eq!(by_name, 42);
    let bad = client.call::<i64>("add", ("x", 1)).await.unwrap_err();
    assert!(bad.as_rpc().unwrap().message.contains("`a`"));
    assert!(matches!(
        client.call::<String>("add", [1, 2]).await,
        Err(CallError::Decode(_))
    ));
}

#[tokio::test]
async fn pending_calls_fail_at_once_when_the_connection_dies() {
    let (handle, url) =
        server::start(wirecall::Server::builder().shutdown_deadline(Duration::from_millis(100)))
            .await;
    let client = Client::connect(&url).await.unwrap();
    let hanging = tokio::spawn({
        let client = client.clone();
        async move { client.call::<()>("hang", ()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::time::timeout(Duration::from_secs(5), handle.shutdown())
        .await
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(5), hanging)
        .await
        .unwrap()
        .unwrap();
    // In flight: it may have run, and the error says so.
    assert!(
        matches!(outcome, Err(CallError::Disconnected(_))),
        "{outcome:?}"
    );
    let closed = client.closed().await;
    assert_eq!(closed.code, Some(1001), "{closed}");
    // After the end: it was never sent.
    assert!(matches!(
        client.call::<i64>("add", [1, 2]).await,
        Err(CallError::Closed(_))
    ));
}

#[tokio::test]
async fn call_timeout_and_client_close() {
    let (_server, url) = server::start_default().await;
    let client = Client::builder()
        .call_timeout(Duration::from_millis(200))
        .connect(&url)
        .await
        .unwrap();
    assert!(matches!(
        client.call::<()>("hang", ()).await,
        Err(CallError::Timeout(_))
    ));
    assert_eq!(client.pending_calls(), 0);
    assert_eq!(client.call::<i64>("add", [2, 2]).await.unwrap(), 4);
    tokio::time::timeout(Duration::from_secs(5), client.close())
        .await
        .unwrap();
    assert!(client.is_closed());
}

#[tokio::test]
async fn handlers_calling_back_do_not_stall_the_reader() {
    let config = wirecall::ConnectionConfig::default().max_in_flight(1);
    let (_server, url) = server::start(wirecall::Server::builder().connection_config(config)).await;
    let client = Client::builder()
        .router(doubling_router())
        .call_timeout(Duration::from_secs(5))
        .connect(&url)
        .await
        .unwrap();
    // One call runs, the next is parked while the reader keeps reading answers.
    let calls = (0..2).map(|x| {
        let client = client.clone();
        async move { client.call::<i64>("ask_double", [x]).await }
    });
    let answers = futures_util::future::join_all(calls).await;
    for (x, answer) in (0..2i64).zip(answers) {
        assert_eq!(answer.unwrap(), 2 * x);
    }
}

#[tokio::test]
async fn dropping_the_last_client_closes_its_connection() {
    let (handle, url) = server::start_default().await;
    let client = Client::connect(&url).await.unwrap();
    let clone = client.clone();
    assert_eq!(client.call::<i64>("add", [1, 2]).await.unwrap(), 3);
    drop(client);
    assert_eq!(clone.call::<i64>("add", [2, 2]).await.unwrap(), 4);
    drop(clone);
    for _ in 0..100 {
        if handle.server().connection_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the server still counts the dropped client's connection");
}

#[tokio::test]
async fn unsubscribing_a_subscription_that_already_ended_succeeds() {
    let (_server, url) = server::start_default().await;
    let client = Client::connect(&url).await.unwrap();
    let mut counted = client
        .subscribe::<u64>("subscribe_count", [1], "unsubscribe_count")
        .await
        .unwrap();
    let id = counted.id();
    assert!(matches!(
        counted.next().await,
        Some(SubscriptionEvent::Item(0))
    ));
    assert!(matches!(
        counted.next().await,
        Some(SubscriptionEvent::Ended)
    ));
    // The server ended it; asking again still holds.
    let params = serde_json::value::RawValue::from_string(format!("[{id}]")).unwrap();
    let answer = client
        .call_raw("unsubscribe_count", Some(&params))
        .await
        .unwrap();
    assert_eq!(answer.get(), "true");
    // An id never given out is an error.
    let unknown = client
        .call::<bool>("unsubscribe_count", ["ffff"])
        .await
        .unwrap_err();
    assert_eq!(
        unknown.as_rpc().unwrap().code,
        wirecall::ErrorCode::InvalidParams
    );
}

/// A router whose one subscription reports through `cleaned` once its
/// handler has seen the sink close and finished cleaning up.
fn watched(cleaned: tokio::sync::mpsc::UnboundedSender<&'static str>) -> Router {
    let mut router = Router::new();
    router
        .subscription(
            "watch",
            "watched",
            "unwatch",
            wirecall::SinkConfig::default(),
            move |_: Params<'_>, _: &Context, pending: wirecall::PendingSubscription<u8>| {
                let cleaned = cleaned.clone();
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    let _ = sink.send(&1).await;
                    sink.closed().await;
                    // Cleanup after an await: it runs, not cut off mid-way.
                    tokio::task::yield_now().await;
                    let _ = cleaned.send("cleaned up");
                })
            },
        )
        .unwrap();
    router
}

#[tokio::test]
async fn a_handler_cleans_up_after_unsubscribe_and_after_a_disconnect() {
    let (cleaned, mut reports) = tokio::sync::mpsc::unbounded_channel();
    let server = wirecall::Server::builder()
        .build(watched(cleaned))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let within = Duration::from_secs(10);

    let client = Client::connect(&url).await.unwrap();
    let mut watch = client
        .subscribe::<u8>("watch", (), "unwatch")
        .await
        .unwrap();
    assert!(matches!(
        watch.next().await,
        Some(SubscriptionEvent::Item(1))
    ));
    watch.unsubscribe().await.unwrap();
    let report = tokio::time::timeout(within, reports.recv()).await.unwrap();
    assert_eq!(report, Some("cleaned up"));

    let mut watch = client
        .subscribe::<u8>("watch", (), "unwatch")
        .await
        .unwrap();
    assert!(matches!(
        watch.next().await,
        Some(SubscriptionEvent::Item(1))
    ));
    client.close().await;
    let report = tokio::time::timeout(within, reports.recv()).await.unwrap();
    assert_eq!(report, Some("cleaned up"));
}

#[tokio::test]
async fn a_peer_that_vanishes_without_a_close_frame_ends_with_1006() {
    // A server that completes the upgrade, then ends the TCP connection with
    // a reset, or with a plain end of stream, never sending a close frame.
    for reset in [true, false] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let tcp = ws.into_inner();
            if reset {
                tcp.set_zero_linger().unwrap();
            }
            drop(tcp);
        });
        let client = Client::connect(&format!("ws://{addr}/")).await.unwrap();
        let closed = tokio::time::timeout(Duration::from_secs(5), client.closed())
            .await
            .unwrap();
        assert_eq!(closed.code, Some(1006), "reset {reset}: {closed}");
        assert!(closed.reason.contains("without a close frame"), "{closed}");
    }
}
