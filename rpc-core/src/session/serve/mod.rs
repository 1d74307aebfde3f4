//! What this end feeds: a subscribe call handed to its handler, the sink it
//! becomes once accepted, and the connection's table of the subscriptions
//! it serves.

mod accept;
mod byte_budget;
mod forwarder;
mod pending_subscription;
mod served;
mod sink;
mod sink_config;
mod sink_error;

pub use pending_subscription::PendingSubscription;
pub use sink::SubscriptionSink;
pub use sink_config::{OverflowPolicy, SinkConfig};
pub use sink_error::{AcceptError, SendError};

#[cfg(test)]
pub(crate) use accept::accept;
pub(crate) use accept::{Accepted, PendingRaw};
pub(crate) use byte_budget::ByteBudget;
pub(crate) use served::SubscriptionTable;
// The bus writes into sinks itself; it is not built for the browser.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use sink::{Offer, SinkShared};
