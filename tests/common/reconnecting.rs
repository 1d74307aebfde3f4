//! A reconnecting client and the server it reconnects to, shared by the
//! tests of subscriptions (reconnect.rs) and of calls (reconnect_calls.rs)
//! across cuts. The including crate declares `mod topics`.

// Each test crate uses part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use wirecall::bus::InProcessBus;
use wirecall::client::{ConnectionEvent, ReconnectPolicy};
use wirecall::{
    Client, Context, ErrorObject, Params, PendingSubscription, Router, Server, ServerHandle,
    SinkConfig, Subscription, SubscriptionEvent,
};

/// `add(a, b)`; `follow`, the topic `numbers` of `bus`, resumable; and
/// `ticks`, 0, 1, 2… every 2 ms, without positions.
pub(crate) fn router(bus: Arc<InProcessBus>) -> Router {
    let mut router = Router::new();
    router
        .subscription(
            "ticks",
            "tick",
            "unticks",
            SinkConfig::default(),
            |_: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    for n in 0.. {
                        if sink.send(&n).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                })
            },
        )
        .unwrap()
        .method("add", |params: Params<'_>, _: &Context| {
            let (a, b): (i64, i64) = params.parse()?;
            Ok(async move { Ok::<_, ErrorObject>(a + b) })
        })
        .unwrap();
    crate::topics::follow_numbers(&mut router, bus);
    router
}

pub(crate) async fn serve(bus: Arc<InProcessBus>, addr: &str) -> ServerHandle {
    Server::builder()
        .shutdown_deadline(Duration::from_millis(100))
        .build(router(bus))
        .bind(addr)
        .await
        .unwrap()
}

pub(crate) fn quick() -> ReconnectPolicy {
    ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(50))
}

/// A reconnecting client whose connection events arrive on the receiver.
pub(crate) async fn reconnecting(
    url: &str,
    call_timeout: Duration,
) -> (Client, mpsc::UnboundedReceiver<ConnectionEvent>) {
    let (events, received) = mpsc::unbounded_channel();
    let client = Client::builder()
        .call_timeout(call_timeout)
        .reconnect(quick())
        .on_connection_event(move |event| drop(events.send(event.clone())))
        .connect(url)
        .await
        .unwrap();
    (client, received)
}

pub(crate) async fn next<T: serde::de::DeserializeOwned>(
    stream: &mut Subscription<T>,
) -> SubscriptionEvent<T> {
    tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("an event in time")
        .expect("the stream is open")
}

/// Waits for the first event that `wanted` picks, skipping the others.
pub(crate) async fn wait_for(
    events: &mut mpsc::UnboundedReceiver<ConnectionEvent>,
    wanted: impl Fn(&ConnectionEvent) -> bool,
) -> ConnectionEvent {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .expect("a connection event in time")
            .expect("the client is alive");
        if wanted(&event) {
            return event;
        }
    }
}

/// Waits (up to 10 s) until `done` holds.
pub(crate) async fn wait_until(done: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the condition held in time");
}
