//! Per-connection state, the same for both ends, in four rooms around one
//! shared core ([`Session`]: the outbound queue, the tables, the end of the
//! line):
//!
//! - `serve`: what this end feeds — subscription sinks, subscribe calls
//!   not yet answered, the table of subscriptions it serves;
//! - `call`: what a caller's connection keeps — calls awaiting answers,
//!   batches, received subscriptions' queues, and reading the answers and
//!   items that come back;
//! - `link`: reconnection — the line of connections a reconnecting client
//!   holds, its backoff policy, the task that redials, and [`Link`], the one
//!   place that tells a fixed connection from a durable one;
//! - `handle`: what users hold — [`Peer`], [`Subscription`], outgoing
//!   layers, params.
//!
//! Nothing here reads or writes a socket: the `io` layer does, through the
//! session's bounded outbound queue.
//!
//! [`Link`]: link::Link

pub(crate) mod call;
mod config;
mod error;
pub(crate) mod handle;
pub(crate) mod link;
mod outbound;
pub(crate) mod serve;
mod state;

pub use call::{Batch, BatchResponse, BatchSlot};
pub use config::ConnectionConfig;
pub use error::{CallError, Closed};
pub use handle::{
    AsPeer, OutgoingCall, OutgoingLayer, OutgoingLayers, OutgoingNext, OutgoingRunning,
    ParamsBuilder, Peer, Subscription, SubscriptionEvent,
};
pub use link::{ConnectionEvent, ConnectionState, ReconnectPolicy};
pub use serve::{
    AcceptError, OverflowPolicy, PendingSubscription, SendError, SinkConfig, SubscriptionSink,
};

pub(crate) use outbound::{Outbound, OutboundReceiver, OutboundSender, TrySendError};
pub(crate) use state::Session;
