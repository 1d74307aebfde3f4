//! The counting subscription several tests serve: it pushes `0, 1, …,
//! n - 1` for a subscribe call with params `[n]`, then ends.

#![allow(dead_code)] // shared by several test crates

use wirecall::{Context, Params, PendingSubscription, Router, SinkConfig};

/// Accepts `pending`, then pushes `0..n`, stopping early if the
/// subscription ends first.
pub(crate) async fn count_to(pending: PendingSubscription<u64>, n: u64) {
    let Ok(sink) = pending.accept() else { return };
    for i in 0..n {
        if sink.send(&i).await.is_err() {
            return;
        }
    }
}

/// Registers the counting subscription on `router` under the given names.
pub(crate) fn serve_counting(
    router: &mut Router,
    [subscribe, notification, unsubscribe]: [&str; 3],
    config: SinkConfig,
) {
    router
        .subscription(
            subscribe,
            notification,
            unsubscribe,
            config,
            |params: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                let mut reader = params.reader()?;
                let n: u64 = reader.next("n")?;
                reader.finish()?;
                Ok(count_to(pending, n))
            },
        )
        .expect("the counting subscription registers");
}
