//! wirecall: JSON-RPC 2.0 over WebSockets.
//!
//! Write one trait, put `#[wirecall::rpc]` on it, and get a server dispatcher
//! and a typed client; both ends share one multiplexed connection that
//! carries calls in both directions and server-pushed subscriptions.
//!
//! This crate re-exports the parts: [`core`] (protocol, router, engine,
//! server) and, behind features, [`client`] and the `rpc` macro.
#![doc = include_str!("../docs/ARCHITECTURE.md")]

pub use rpc_core as core;
pub use rpc_core::{
    CallError, Closed, ConnectionConfig, Context, ErrorCode, ErrorObject, Extensions, Id,
    OverflowPolicy, Params, Peer, PendingSubscription, RegisterError, Router, SinkConfig,
    Subscription, SubscriptionEvent, SubscriptionSink,
};

#[cfg(feature = "client")]
pub use rpc_client as client;
