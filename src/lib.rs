//! wirecall: JSON-RPC 2.0 over WebSockets.
//!
//! Write one trait, put `#[wirecall::rpc]` on it, and get a server dispatcher
//! and a typed client; both ends share one multiplexed connection that
//! carries calls in both directions and server-pushed subscriptions.
//!
//! This crate re-exports the parts: [`core`] (protocol, router, engine,
//! server) and, behind features, [`client`] and the [`rpc`] macro.
//!
//! # Examples
//!
//! ```
//! use wirecall::{Context, ErrorObject, Params, Router};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let mut router = Router::new();
//! router
//!     .method("add", |params: Params<'_>, _: &Context| {
//!         let mut p = params.reader()?;
//!         let (a, b): (i64, i64) = (p.next("a")?, p.next("b")?);
//!         p.finish()?;
//!         Ok(async move { Ok::<_, ErrorObject>(a + b) })
//!     })
//!     .unwrap();
//! let reply = router
//!     .handle(r#"{"jsonrpc":"2.0","method":"add","params":{"a":1,"b":2},"id":1}"#)
//!     .await;
//! assert_eq!(reply.unwrap(), r#"{"jsonrpc":"2.0","id":1,"result":3}"#);
//! # });
//! ```
#![doc = include_str!("../docs/ARCHITECTURE.md")]

pub use rpc_core as core;
pub use rpc_core::{
    CallError, Closed, ConnectionConfig, Context, ErrorCode, ErrorObject, Extensions, Id,
    OverflowPolicy, Params, Peer, PendingSubscription, RegisterError, Router, SinkConfig,
    Subscription, SubscriptionEvent, SubscriptionSink,
};

#[cfg(feature = "client")]
pub use rpc_client as client;

#[cfg(feature = "macros")]
#[doc = include_str!("../docs/MACRO.md")]
pub use rpc_macros::rpc;

#[doc(hidden)]
pub mod __private;
