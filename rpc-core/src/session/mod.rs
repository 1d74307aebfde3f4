//! Per-connection state, the same for both ends: outgoing calls awaiting
//! answers, the subscriptions this end serves (sinks) and receives
//! (streams), and [`Peer`], the handle other tasks use to reach the
//! connection. Nothing here reads or writes a socket: the `io` layer does,
//! through the session's bounded outbound queue.

mod accept;
mod batch;
mod config;
mod durable;
mod error;
mod event_queue;
mod link_state;
mod outbound;
mod outgoing;
mod params_builder;
mod peer;
mod pending;
mod pending_subscription;
mod received;
mod reconnect_policy;
mod served;
mod sink;
mod sink_config;
mod sink_error;
mod state;
mod stream;

pub use batch::{Batch, BatchResponse, BatchSlot};
pub use config::ConnectionConfig;
pub use error::{CallError, Closed};
pub use link_state::{ConnectionEvent, ConnectionState};
pub use outgoing::{OutgoingCall, OutgoingLayer, OutgoingLayers, OutgoingNext, OutgoingRunning};
pub use params_builder::{AsPeer, ParamsBuilder};
pub use peer::Peer;
pub use pending_subscription::PendingSubscription;
pub use reconnect_policy::ReconnectPolicy;
pub use sink::SubscriptionSink;
pub use sink_config::{OverflowPolicy, SinkConfig};
pub use sink_error::{AcceptError, SendError};
pub use stream::{Subscription, SubscriptionEvent};

pub(crate) use accept::{Accepted, PendingRaw};
pub(crate) use durable::DurableLink;
pub(crate) use event_queue::RawEvent;
pub(crate) use link_state::EventHook;
pub(crate) use outbound::{Outbound, OutboundReceiver};
pub(crate) use pending::Waiter;
pub(crate) use received::ClientSubscriptionKey;
pub(crate) use state::Session;
