//! The core of wirecall, as a stack of layers; each imports only those
//! above it in this list:
//!
//! 1. `protocol`: the JSON-RPC 2.0 objects, wirecall's error codes and the
//!    subscription envelope; `openrpc`, the service description, beside it;
//! 2. `session`: per-connection state — pending calls, subscription sinks
//!    and streams, [`Peer`];
//! 3. `router`: method names to handlers, subscribe and unsubscribe;
//! 4. `io`: the one task per socket that reads, dispatches and writes;
//! 5. `server`: accepting, checking and upgrading connections.
//!
//! `bus` sits beside the stack and uses `protocol`, `session` and `router`;
//! `middleware` sits beside `io` and uses `protocol`, `session` and
//! `router`.
//!
//! Users depend on the `wirecall` facade, which re-exports this crate's
//! modules under the same paths and, at its root, the items users name
//! daily; what a middleware layer is written with is in
//! `wirecall::middleware`.

#[cfg(not(target_arch = "wasm32"))]
pub mod bus;
pub mod io;
pub mod middleware;
pub mod openrpc;
pub mod protocol;
mod router;
mod rt;
#[cfg(feature = "server")]
pub mod server;
mod session;
pub mod telemetry;

pub use protocol::{ErrorCode, ErrorObject, Id, RpcError};
pub use router::{
    Call, CallKind, Context, Done, Extensions, Layer, Next, Outcome, Params, ParamsReader,
    RegisterError, Router, Running,
};
#[cfg(feature = "server")]
pub use server::{Server, ServerHandle};
pub use session::{
    AcceptError, AsPeer, Batch, BatchResponse, BatchSlot, CallError, Closed, ConnectionConfig,
    ConnectionEvent, ConnectionState, OutgoingCall, OutgoingLayer, OutgoingLayers, OutgoingNext,
    OutgoingRunning, OverflowPolicy, ParamsBuilder, Peer, PendingSubscription, SendError,
    SinkConfig, Subscription, SubscriptionEvent, SubscriptionSink,
};
