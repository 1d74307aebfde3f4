//! The topic-fed subscription several tests share: `follow` streams the
//! topic `numbers` of a bus as `number` notifications, resuming after a
//! position when the client gives one; `unfollow` ends it.

#![allow(dead_code)] // shared by several test crates

use std::sync::Arc;

use wirecall::bus::{self, Bus, TopicMethods};
use wirecall::Router;

/// Registers `follow` and `unfollow` on `router`, fed by `bus`.
pub(crate) fn follow_numbers<B: Bus>(router: &mut Router, bus: Arc<B>) {
    let methods = TopicMethods {
        subscribe: "follow",
        notification: "number",
        unsubscribe: "unfollow",
    };
    bus::serve_topic(router, methods, bus, |_| Ok("numbers".into())).expect("follow registers");
}
