//! What a caller's connection keeps: calls awaiting answers, batches, the
//! queues of the subscriptions it receives, and what to do with the answers
//! and items the other end sends back.

pub(crate) mod batch;
mod calls;
mod event_queue;
mod inbound;
mod params;
mod pending;
mod received;

pub use batch::{Batch, BatchResponse, BatchSlot};

pub(crate) use event_queue::{At, EventQueue, RawEvent};
pub(crate) use inbound::take_own;
pub(crate) use params::to_params;
pub(crate) use pending::{CallReply, PendingCalls};
pub(crate) use received::{ClientSubscriptionKey, ClientSubscriptions};
