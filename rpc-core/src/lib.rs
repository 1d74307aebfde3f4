//! The core of wirecall: the JSON-RPC 2.0 protocol types, the router that
//! maps method names to async handlers, the connection engine both ends run,
//! subscriptions, and the WebSocket server.
//!
//! Most users depend on the `wirecall` facade instead of this crate.

pub mod bus;
pub mod connection;
pub mod protocol;
pub mod router;
pub mod server;
pub mod subscription;

pub use connection::{CallError, Closed, ConnectionConfig, Peer};
pub use protocol::{ErrorCode, ErrorObject, Id};
pub use router::{Context, Extensions, Params, ParamsReader, RegisterError, Router};
pub use subscription::{
    OverflowPolicy, PendingSubscription, SinkConfig, Subscription, SubscriptionEvent,
    SubscriptionSink,
};
