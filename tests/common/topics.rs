//! The topic-fed subscription several tests share: `follow` streams the
//! topic `numbers` of a bus as `number` notifications, resuming after a
//! position when the client gives one; `unfollow` ends it.

#![allow(dead_code)] // shared by several test crates

use std::sync::Arc;

use wirecall::bus::{self, Bus};
use wirecall::{Context, Params, PendingSubscription, Router, SinkConfig};

/// Registers `follow` and `unfollow` on `router`, fed by `bus`.
pub(crate) fn follow_numbers<B: Bus>(router: &mut Router, bus: Arc<B>) {
    router
        .subscription(
            "follow",
            "number",
            "unfollow",
            SinkConfig::default(),
            move |_: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                let bus = bus.clone();
                Ok(async move { bus::follow(&*bus, "numbers", pending).await })
            },
        )
        .expect("follow registers");
}
