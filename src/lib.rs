#![doc = include_str!("../docs/GUIDE.md")]

// What users name daily; writing middleware of one's own takes the names
// in `wirecall::middleware`.
pub use wirecall_core::{
    AcceptError, AsPeer, Batch, BatchResponse, BatchSlot, CallError, Closed, ConnectionConfig,
    ConnectionEvent, ConnectionState, Context, ErrorCode, ErrorObject, Extensions, Id,
    OverflowPolicy, Params, ParamsBuilder, ParamsReader, Peer, PendingSubscription, RegisterError,
    Router, RpcError, SendError, SinkConfig, Subscription, SubscriptionEvent, SubscriptionSink,
};
#[cfg(feature = "server")]
pub use wirecall_core::{Server, ServerHandle};

#[cfg(feature = "client")]
pub use wirecall_client::Client;

#[cfg(feature = "macros")]
#[doc = include_str!("../docs/MACRO.md")]
pub use wirecall_macros::rpc;

/// Derives [`RpcError`](trait@RpcError) for an enum of application errors.
#[cfg(feature = "macros")]
pub use wirecall_macros::RpcError;

#[cfg(feature = "client")]
#[doc(inline)]
pub use wirecall_client as client;

#[cfg(feature = "server")]
#[doc(inline)]
pub use wirecall_core::server;

// Topics, positions and presence are for servers: not in the browser.
#[cfg(not(target_arch = "wasm32"))]
#[doc(inline)]
pub use wirecall_core::bus;
#[doc(inline)]
pub use wirecall_core::{io, middleware, openrpc, protocol, telemetry};

#[doc(hidden)]
pub mod __private;

/// The README's example, compiled by the test suite so it cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeExample;
