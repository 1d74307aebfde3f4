#![doc = include_str!("../docs/GUIDE.md")]

pub use rpc_core::{
    AcceptError, AsPeer, Batch, BatchResponse, BatchSlot, Call, CallError, CallKind, Closed,
    ConnectionConfig, ConnectionEvent, ConnectionState, Context, Done, ErrorCode, ErrorObject,
    Extensions, Id, Layer, Next, Outcome, OutgoingCall, OutgoingLayer, OutgoingLayers,
    OutgoingNext, OutgoingRunning, OverflowPolicy, Params, ParamsBuilder, ParamsReader, Peer,
    PendingSubscription, RegisterError, Router, RpcError, Running, SendError, SinkConfig,
    Subscription, SubscriptionEvent, SubscriptionSink,
};
#[cfg(feature = "server")]
pub use rpc_core::{Server, ServerHandle};

#[cfg(feature = "client")]
pub use rpc_client::Client;

#[cfg(feature = "macros")]
#[doc = include_str!("../docs/MACRO.md")]
pub use rpc_macros::rpc;

/// Derives [`RpcError`](trait@RpcError) for an enum of application errors.
#[cfg(feature = "macros")]
pub use rpc_macros::RpcError;

#[cfg(feature = "client")]
#[doc(inline)]
pub use rpc_client as client;

#[cfg(feature = "server")]
#[doc(inline)]
pub use rpc_core::server;

#[doc(inline)]
pub use rpc_core::{bus, io, middleware, openrpc, protocol, telemetry};

#[doc(hidden)]
pub mod __private;

/// The README's example, compiled by the test suite so it cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;
