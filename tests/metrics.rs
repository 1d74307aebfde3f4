//! The metrics a server records, read back through a recorder installed by
//! the test: calls and errors by method, durations, batches, a refused
//! connection, a lagging subscription, bytes and closes. Its own test
//! binary, since a recorder is installed for the whole process.

#[path = "common/raw.rs"]
#[allow(dead_code)] // all but `ask` are used here
mod raw;
#[path = "common/server.rs"]
#[allow(dead_code)] // only its router is used here
mod server;

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::CompositeKey;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use wirecall::middleware::Metrics;
use wirecall::server::Server;
use wirecall::telemetry;
use wirecall::{Context, OverflowPolicy, Params, PendingSubscription, SinkConfig};

/// Every metric's value, read once: reading resets the recorder.
type Readings = Vec<(CompositeKey, DebugValue)>;

fn read(snapshotter: &Snapshotter) -> Readings {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (key, value))
        .collect()
}

/// The value of the metric `name` whose labels include all of `labels`.
fn value<'a>(metrics: &'a Readings, name: &str, labels: &[(&str, &str)]) -> Option<&'a DebugValue> {
    metrics
        .iter()
        .find(|(key, _)| {
            let key = key.key();
            key.name() == name
                && labels.iter().all(|(label, wanted)| {
                    key.labels()
                        .any(|l| l.key() == *label && l.value() == *wanted)
                })
        })
        .map(|(_, value)| value)
}

fn counter(metrics: &Readings, name: &str, labels: &[(&str, &str)]) -> u64 {
    match value(metrics, name, labels) {
        Some(DebugValue::Counter(n)) => *n,
        None => 0,
        other => panic!("{name} is not a counter: {other:?}"),
    }
}

/// A gauge's value; the ones read here count things, so they are whole.
fn gauge(metrics: &Readings, name: &str) -> i64 {
    match value(metrics, name, &[]) {
        Some(DebugValue::Gauge(v)) => v.into_inner().round() as i64,
        other => panic!("{name} is not a gauge: {other:?}"),
    }
}

fn histogram(metrics: &Readings, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    match value(metrics, name, labels) {
        Some(DebugValue::Histogram(values)) => values.iter().map(|v| v.into_inner()).collect(),
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

/// Waits (at most 5 s) until `check` holds: the server ends a connection
/// after the client has sent its close.
async fn eventually(mut check: impl FnMut() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("never got there");
}

/// Two calls, a batch with an unknown method, a lossy subscription read
/// up to its lag notice, and a close with 1000.
async fn drive(url: &str) {
    let mut socket = raw::connect(url).await;
    let call = |id: u64, method: &str, params: Value| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    raw::send(&mut socket, &call(1, "add", json!([1, 2]))).await;
    assert_eq!(raw::next_json(&mut socket).await["result"], 3);
    let batch = json!([
        call(2, "add", json!([2, 2])),
        call(3, "no_such_method", json!([]))
    ]);
    raw::send(&mut socket, &batch).await;
    let answers = raw::next_json(&mut socket).await;
    assert_eq!(answers.as_array().unwrap().len(), 2, "{answers}");

    raw::send(&mut socket, &call(4, "subscribe_lossy", json!([]))).await;
    let mut seen = Vec::new();
    while seen.len() < 3 {
        seen.push(raw::next_json(&mut socket).await);
    }
    let lagged = seen
        .iter()
        .find_map(|frame| frame["params"]["lagged"].as_u64());
    assert_eq!(lagged, Some(8), "{seen:?}");

    socket
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "done".into(),
        }))
        .await
        .unwrap();
}

/// The test router, plus `subscribe_lossy`: ten items sent before the
/// subscribe reply is out, into a buffer of two that drops the oldest, so
/// eight are dropped and the client is told.
fn lossy_router() -> wirecall::Router {
    let mut router = server::test_router();
    let lossy = SinkConfig {
        buffer: 2,
        policy: OverflowPolicy::DropOldest,
    };
    router
        .subscription(
            "subscribe_lossy",
            "lossy",
            "unsubscribe_lossy",
            lossy,
            |_: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    for i in 0..10 {
                        let _ = sink.send(&i).await;
                    }
                    sink.closed().await;
                })
            },
        )
        .unwrap();
    router
}

#[tokio::test]
async fn a_server_records_calls_refusals_lag_bytes_and_closes() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let mut router = lossy_router();
    router.layer(Metrics::new());
    let open = Server::builder()
        .build(router)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let guarded = Server::builder()
        .allowed_origins(["https://good.example"])
        .build(server::test_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();

    let refused = tokio_tungstenite::connect_async(format!("ws://{}/", guarded.local_addr())).await;
    assert!(refused.is_err(), "no Origin header: refused");

    drive(&format!("ws://{}/", open.local_addr())).await;
    eventually(|| open.server().connection_count() == 0).await;
    let metrics = read(&snapshotter);
    assert_eq!(
        counter(&metrics, telemetry::CONNECTIONS_CLOSED, &[("code", "1000")]),
        1
    );

    let calls = |method, outcome| {
        counter(
            &metrics,
            telemetry::CALLS,
            &[("method", method), ("kind", "call"), ("outcome", outcome)],
        )
    };
    assert_eq!(calls("add", "ok"), 2);
    assert_eq!(
        calls("unknown", "error"),
        1,
        "an unknown method is one label"
    );
    assert_eq!(
        counter(
            &metrics,
            telemetry::CALL_ERRORS,
            &[("method", "unknown"), ("code", "-32601")]
        ),
        1
    );
    assert_eq!(
        counter(
            &metrics,
            telemetry::CALLS,
            &[
                ("method", "subscribe_lossy"),
                ("kind", "subscribe"),
                ("outcome", "ok")
            ]
        ),
        1
    );
    assert_eq!(
        histogram(&metrics, telemetry::CALL_DURATION, &[("method", "add")]).len(),
        2
    );
    assert_eq!(gauge(&metrics, telemetry::CALLS_IN_FLIGHT), 0);
    assert_eq!(counter(&metrics, telemetry::BATCHES, &[]), 1);
    assert_eq!(histogram(&metrics, telemetry::BATCH_SIZE, &[]), [2.0]);

    assert_eq!(counter(&metrics, telemetry::CONNECTIONS_ACCEPTED, &[]), 1);
    assert_eq!(
        counter(
            &metrics,
            telemetry::CONNECTIONS_REFUSED,
            &[("reason", "origin")]
        ),
        1
    );
    assert_eq!(gauge(&metrics, telemetry::CONNECTIONS_OPEN), 0);

    assert_eq!(counter(&metrics, telemetry::ITEMS_SENT, &[]), 10);
    assert_eq!(
        counter(
            &metrics,
            telemetry::ITEMS_DROPPED,
            &[("policy", "drop_oldest")]
        ),
        8
    );
    assert_eq!(gauge(&metrics, telemetry::SUBSCRIPTIONS_ACTIVE), 0);

    // Four text frames in (the close carries no text), and out: three
    // answers, the subscription id, two items and the lag notice.
    let received = counter(&metrics, telemetry::BYTES_RECEIVED, &[]);
    let sent = counter(&metrics, telemetry::BYTES_SENT, &[]);
    assert!(received > 150 && received < 400, "{received}");
    assert!(sent > 200 && sent < 800, "{sent}");
}
