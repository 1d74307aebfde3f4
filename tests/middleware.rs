//! Per-call layers over a real socket: their order, answering early, the
//! rate limit, the timeout, and layers around outgoing calls.

#[path = "common/raw.rs"]
mod raw;
#[path = "common/server.rs"]
#[allow(dead_code)] // only its router and `serve` are used here
mod server;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use wirecall::middleware::{
    Call, Layer, Next, OutgoingCall, OutgoingLayer, OutgoingNext, OutgoingRunning, Running,
};
use wirecall::middleware::{RateLimit, Timeout};
use wirecall::{
    CallError, Client, ConnectionConfig, Context, ErrorCode, ErrorObject, Params,
    PendingSubscription, Router, SinkConfig,
};

fn call(id: u64, method: &str, params: &Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// Writes what it sees, before and after the rest of the stack.
struct Recording {
    name: &'static str,
    log: Arc<Mutex<Vec<String>>>,
}

impl Layer for Recording {
    fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running {
        let entry = format!(
            "{} before {} id={} params={}",
            self.name,
            call.method(),
            call.id().map_or("-".to_owned(), ToString::to_string),
            call.params().map_or("-", |p| p.get()),
        );
        self.log.lock().unwrap().push(entry);
        let running = next.run();
        let (name, log) = (self.name, self.log.clone());
        Box::pin(async move {
            let outcome = running.await;
            let how = match &outcome {
                Ok(_) => "ok".to_owned(),
                Err(err) => format!("error {}", err.code.code()),
            };
            log.lock().unwrap().push(format!("{name} after {how}"));
            outcome
        })
    }
}

/// Answers calls to `secret` itself; the handler never runs.
struct Guard;

impl Layer for Guard {
    fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running {
        if call.method() == "secret" {
            return Next::answer(ErrorObject::new(4003, "not for you"));
        }
        next.run()
    }
}

#[tokio::test]
async fn layers_run_in_the_order_added_and_can_answer_early() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let secret_runs = Arc::new(AtomicUsize::new(0));
    let mut router = server::test_router();
    let runs = secret_runs.clone();
    router
        .method("secret", move |_, _| {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(async { Ok::<_, ErrorObject>("the secret") })
        })
        .unwrap();
    router
        .layer(Recording {
            name: "outer",
            log: log.clone(),
        })
        .layer(Guard)
        .layer(Recording {
            name: "inner",
            log: log.clone(),
        });
    let (_server, url) = server::serve(router).await;
    let mut socket = raw::connect(&url).await;

    let answer = raw::ask(&mut socket, &call(1, "add", &json!([2, 3]))).await;
    assert_eq!(answer, json!({"jsonrpc": "2.0", "id": 1, "result": 5}));
    assert_eq!(
        *log.lock().unwrap(),
        [
            "outer before add id=1 params=[2,3]",
            "inner before add id=1 params=[2,3]",
            "inner after ok",
            "outer after ok",
        ]
    );

    log.lock().unwrap().clear();
    let answer = raw::ask(&mut socket, &call(2, "secret", &json!([]))).await;
    assert_eq!(answer["error"]["code"], 4003, "{answer}");
    assert_eq!(answer["id"], 2);
    assert_eq!(
        secret_runs.load(Ordering::SeqCst),
        0,
        "the handler never ran"
    );
    assert_eq!(
        *log.lock().unwrap(),
        [
            "outer before secret id=2 params=[]",
            "outer after error 4003"
        ],
        "the inner layer never saw it"
    );

    // An unknown method goes through the layers too, and their view of
    // the outcome is the error the peer gets.
    log.lock().unwrap().clear();
    let answer = raw::ask(&mut socket, &call(3, "nope", &json!([]))).await;
    assert_eq!(answer["error"]["code"], -32601);
    assert_eq!(
        log.lock().unwrap().last().unwrap(),
        "outer after error -32601"
    );
}

#[tokio::test]
async fn the_rate_limit_answers_past_the_burst_and_recovers() {
    let mut router = server::test_router();
    router.layer(RateLimit::per_connection(2.0, 3));
    let (_server, url) = server::serve(router).await;
    let mut socket = raw::connect(&url).await;

    // Five calls in one batch reach the layer at the same instant.
    let batch: Vec<Value> = (1..=5).map(|id| call(id, "add", &json!([id, 0]))).collect();
    let answers = raw::ask(&mut socket, &Value::Array(batch)).await;
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 5);
    for answer in &answers[..3] {
        assert_eq!(answer["result"], answer["id"], "{answer}");
    }
    let mut wait_ms = 0;
    for answer in &answers[3..] {
        assert_eq!(
            answer["error"]["code"],
            ErrorCode::RATE_LIMITED.code(),
            "{answer}"
        );
        let retry = answer["error"]["data"]["retry_after_ms"].as_u64().unwrap();
        assert!(retry > 0 && retry <= 500, "{answer}");
        wait_ms = wait_ms.max(retry);
    }

    // The connection lives, and once a token is back a call passes.
    tokio::time::sleep(Duration::from_millis(wait_ms + 50)).await;
    let answer = raw::ask(&mut socket, &call(6, "add", &json!([6, 0]))).await;
    assert_eq!(answer["result"], 6, "{answer}");
}

/// Sets its flag when dropped: shows the handler was cancelled.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn the_timeout_cancels_a_slow_handler_and_answers() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let mut router = server::test_router();
    let flag = cancelled.clone();
    router
        .method("crawl", move |_, _| {
            let guard = SetOnDrop(flag.clone());
            Ok(async move {
                tokio::time::sleep(Duration::from_secs(30)).await;
                drop(guard);
                Ok::<_, ErrorObject>("done")
            })
        })
        .unwrap();
    router.layer(Timeout::new(Duration::from_secs(30)).method("crawl", Duration::from_millis(100)));
    let (_server, url) = server::serve(router).await;
    let mut socket = raw::connect(&url).await;

    let answer = raw::ask(&mut socket, &call(1, "crawl", &json!([]))).await;
    assert_eq!(
        answer["error"]["code"],
        ErrorCode::TIMED_OUT.code(),
        "{answer}"
    );
    assert!(cancelled.load(Ordering::SeqCst), "the handler was dropped");

    // Other methods keep the default limit and answer as usual.
    let answer = raw::ask(&mut socket, &call(2, "sleep", &json!([20]))).await;
    assert_eq!(answer["result"], 20, "{answer}");
}

/// Records each outgoing call and what came back; refuses `debug_*`.
struct Outgoing {
    log: Arc<Mutex<Vec<String>>>,
}

impl OutgoingLayer for Outgoing {
    fn handle(&self, call: OutgoingCall, next: OutgoingNext) -> OutgoingRunning {
        let entry = format!(
            "{} {} {}",
            if call.is_notification() {
                "notify"
            } else {
                "call"
            },
            call.method(),
            call.params().map_or("-", |p| p.get()),
        );
        self.log.lock().unwrap().push(entry);
        if call.method().starts_with("debug_") {
            let refused = ErrorObject::new(4000, "debug calls are off");
            return Box::pin(async move { Err(CallError::Rpc(refused)) });
        }
        let log = self.log.clone();
        let running = next.run(call);
        Box::pin(async move {
            let answer = running.await;
            let got = match &answer {
                Ok(Some(result)) => result.get().to_owned(),
                Ok(None) => "sent".to_owned(),
                Err(err) => format!("{err}"),
            };
            log.lock().unwrap().push(got);
            answer
        })
    }
}

#[tokio::test]
async fn outgoing_layers_see_calls_and_notifications_and_can_refuse() {
    let seen = Arc::new(AtomicUsize::new(0));
    let mut router = server::test_router();
    let count = seen.clone();
    router
        .method("debug_dump", move |_, _| {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(async { Ok::<_, ErrorObject>("dumped") })
        })
        .unwrap();
    let (_server, url) = server::serve(router).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut config = ConnectionConfig::default();
    config.outgoing.push(Outgoing { log: log.clone() });
    let client = Client::builder()
        .connection_config(config)
        .connect(&url)
        .await
        .unwrap();

    assert_eq!(client.call::<i64>("add", [2, 5]).await.unwrap(), 7);
    client.notify("echo", ["hi"]).await.unwrap();
    let refused = client.call::<String>("debug_dump", ()).await.unwrap_err();
    assert_eq!(refused.as_rpc().unwrap().code.code(), 4000, "{refused:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 0, "never sent");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "call add [2,5]",
            "7",
            "notify echo [\"hi\"]",
            "sent",
            "call debug_dump -",
        ]
    );
}

#[tokio::test]
async fn a_resumed_subscribe_is_shown_to_layers_as_the_call_it_resumes() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut router = server::test_router();
    router.layer(Recording {
        name: "seen",
        log: log.clone(),
    });
    let (_server, url) = server::serve(router).await;
    let mut socket = raw::connect(&url).await;
    let resume = json!({"method": "subscribe_count", "params": [1], "epoch": "e", "offset": 4});
    let answer = raw::ask(&mut socket, &call(1, "rpc.resume", &resume)).await;
    assert!(answer["result"].is_string(), "{answer}");
    assert_eq!(
        log.lock().unwrap()[0],
        "seen before subscribe_count id=1 params=[1]"
    );
}

#[tokio::test]
async fn unsubscribes_pass_the_rate_limit() {
    let mut router = server::test_router();
    router.layer(RateLimit::per_connection(0.1, 1));
    let (_server, url) = server::serve(router).await;
    let mut socket = raw::connect(&url).await;
    let subscribed = raw::ask(&mut socket, &call(1, "subscribe_forever", &json!([]))).await;
    let id = subscribed["result"].clone();
    let limited = raw::ask(&mut socket, &call(2, "add", &json!([1, 1]))).await;
    assert_eq!(limited["error"]["code"], ErrorCode::RATE_LIMITED.code());
    let ended = raw::ask(&mut socket, &call(3, "unsubscribe_forever", &json!([id]))).await;
    assert_eq!(ended["result"], true, "{ended}");
}

#[tokio::test]
async fn the_timeout_cancels_a_subscribe_handler_that_never_answers() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let mut router = Router::new();
    let flag = cancelled.clone();
    router
        .subscription(
            "subscribe_slow",
            "slow",
            "unsubscribe_slow",
            SinkConfig::default(),
            move |_: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                let guard = SetOnDrop(flag.clone());
                Ok(async move {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    drop((guard, pending));
                })
            },
        )
        .unwrap();
    router.layer(Timeout::new(Duration::from_millis(100)));
    let (_server, url) = server::serve(router).await;
    let mut socket = raw::connect(&url).await;
    let answer = raw::ask(&mut socket, &call(1, "subscribe_slow", &json!([]))).await;
    assert_eq!(answer["error"]["code"], ErrorCode::TIMED_OUT.code());
    // Dropped after the grace a closed sink gets (5 s), not left running.
    for _ in 0..100 {
        if cancelled.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the subscribe handler kept running after its timeout");
}
