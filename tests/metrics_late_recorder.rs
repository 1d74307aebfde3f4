//! The metrics layer keeps each method's handles, and still records into
//! a recorder installed after its first calls (the handles it kept came
//! from no recorder at all). A test binary of its own: it installs no
//! global recorder, so it cannot disturb tests/metrics.rs.

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use wirecall::middleware::Metrics;
use wirecall::{telemetry, Context, ErrorObject, Params, Router};

fn router() -> Router {
    let mut router = Router::new();
    router
        .method("add", |params: Params<'_>, _: &Context| {
            let (a, b): (i64, i64) = params.parse()?;
            Ok(async move { Ok::<_, ErrorObject>(a + b) })
        })
        .unwrap();
    router.layer(Metrics::new());
    router
}

/// Calls `add` once on this thread, to the end.
fn call(router: &Router) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime
        .block_on(router.handle(r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#))
        .unwrap()
}

#[test]
fn a_recorder_installed_after_the_first_calls_gets_the_next_ones() {
    let router = router();
    // No recorder yet: the layer keeps handles that record nowhere.
    for _ in 0..3 {
        assert!(call(&router).contains(r#""result":3"#));
    }
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        for _ in 0..2 {
            call(&router);
        }
    });
    let calls: u64 = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| {
            key.key().name() == telemetry::CALLS
                && key
                    .key()
                    .labels()
                    .any(|label| label.key() == "method" && label.value() == "add")
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(n) => n,
            _ => 0,
        })
        .sum();
    assert_eq!(calls, 2, "the calls made with the recorder, and only those");
}
