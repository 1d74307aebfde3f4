//! Reconnection in one room. [`Link`] is what a [`Peer`](crate::session::Peer)
//! reaches: one connection for its whole life, or a [`DurableLink`] — a line
//! of connections that a reconnecting client holds, kept up by
//! `keep_connected` under a [`ReconnectPolicy`], with subscriptions bound
//! again to each new connection. Nothing outside this room asks which kind
//! of link it has.

mod connection_state;
mod durable;
mod held;
mod keep_connected;
mod line;
mod policy;
mod resubscribe;

pub use connection_state::{ConnectionEvent, ConnectionState};
pub use policy::ReconnectPolicy;

pub(crate) use connection_state::EventHook;
pub(crate) use durable::DurableLink;
pub(crate) use held::HeldSubscription;
pub(crate) use keep_connected::keep_connected;
pub(crate) use line::Link;
