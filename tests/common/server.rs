//! A test service on a real socket: echo-style methods, a counting
//! subscription, and helpers to start it on 127.0.0.1 port 0.

#[path = "counting.rs"]
mod counting;

use std::time::Duration;

use wirecall::server::{Server, ServerBuilder, ServerHandle};
use wirecall::{
    Context, ErrorObject, OverflowPolicy, Params, PendingSubscription, Router, SinkConfig,
};

/// `add(a, b)`, `echo(text)`, `sleep(ms)`, `hang()`, `big(bytes)`, and the
/// subscriptions `count(n)` (Wait policy) and `burst(n)` (drop-oldest,
/// buffer 16), `ask_client(x)` (calls the client's `double` and pushes the answer).
#[allow(clippy::too_many_lines)] // one registration after another
pub(crate) fn test_router() -> Router {
    let mut router = Router::new();
    router
        .method("add", |p: Params<'_>, _: &Context| {
            let mut r = p.reader()?;
            let (a, b): (i64, i64) = (r.next("a")?, r.next("b")?);
            r.finish()?;
            Ok(async move { Ok::<_, ErrorObject>(a + b) })
        })
        .unwrap()
        .method("echo", |p: Params<'_>, _: &Context| {
            let mut r = p.reader()?;
            let text: String = r.next("text")?;
            r.finish()?;
            Ok(async move { Ok::<_, ErrorObject>(text) })
        })
        .unwrap()
        .method("sleep", |p: Params<'_>, _: &Context| {
            let mut r = p.reader()?;
            let ms: u64 = r.next("ms")?;
            r.finish()?;
            Ok(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, ErrorObject>(ms)
            })
        })
        .unwrap()
        .method("ask_double", |p: Params<'_>, ctx: &Context| {
            let x: i64 = p.reader()?.next("x")?;
            let peer = ctx.peer().cloned();
            Ok(async move {
                let peer = peer.ok_or_else(|| ErrorObject::internal_error("no peer"))?;
                peer.call::<i64>("double", [x])
                    .await
                    .map_err(ErrorObject::internal_error)
            })
        })
        .unwrap()
        .method("hang", |_: Params<'_>, _: &Context| {
            Ok(async {
                std::future::pending::<()>().await;
                Ok::<_, ErrorObject>(())
            })
        })
        .unwrap()
        .method("big", |p: Params<'_>, _: &Context| {
            let mut r = p.reader()?;
            let bytes: usize = r.next("bytes")?;
            r.finish()?;
            Ok(async move { Ok::<_, ErrorObject>("x".repeat(bytes)) })
        })
        .unwrap();
    let wait = SinkConfig {
        buffer: 256,
        policy: OverflowPolicy::Wait,
    };
    counting::serve_counting(
        &mut router,
        ["subscribe_count", "count", "unsubscribe_count"],
        wait,
    );
    let lossy = SinkConfig {
        buffer: 16,
        policy: OverflowPolicy::DropOldest,
    };
    router
        .subscription(
            "subscribe_burst",
            "burst",
            "unsubscribe_burst",
            lossy,
            |p: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                let n: u64 = p.reader()?.next("n")?;
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    for i in 0..n {
                        if sink.send(&i).await.is_err() {
                            return;
                        }
                        if i % 64 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                    // Hold the subscription open until the client has read up.
                    sink.closed().await;
                })
            },
        )
        .unwrap();
    router
        .subscription(
            "subscribe_forever",
            "forever",
            "unsubscribe_forever",
            SinkConfig::default(),
            |_: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    sink.closed().await;
                })
            },
        )
        .unwrap();
    router
        .subscription(
            "subscribe_ask",
            "asked",
            "unsubscribe_ask",
            SinkConfig::default(),
            |p: Params<'_>, ctx: &Context, pending: PendingSubscription<i64>| {
                let x: i64 = p.reader()?.next("x")?;
                let peer = ctx
                    .peer()
                    .cloned()
                    .ok_or_else(|| ErrorObject::internal_error("no peer"))?;
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    let _ = sink.send(&x).await;
                    match peer.call::<i64>("double", [x]).await {
                        Ok(doubled) => drop(sink.send(&doubled).await),
                        Err(err) => sink.close_with(ErrorObject::internal_error(err)),
                    }
                })
            },
        )
        .unwrap();
    router
}

/// Serves `router` with default limits on 127.0.0.1:0; returns its URL.
#[allow(dead_code)] // not every test binary serves a router of its own
pub(crate) async fn serve(router: Router) -> (ServerHandle, String) {
    let handle = Server::builder()
        .build(router)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", handle.local_addr());
    (handle, url)
}

/// Starts `builder` around the test router on 127.0.0.1:0.
pub(crate) async fn start(builder: ServerBuilder) -> (ServerHandle, String) {
    let handle = builder
        .build(test_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", handle.local_addr());
    (handle, url)
}

/// Starts the test router with default limits.
pub(crate) async fn start_default() -> (ServerHandle, String) {
    start(Server::builder()).await
}
