//! What users hold: [`Peer`] to call, notify, batch and subscribe, the
//! [`Subscription`] stream it hands back, layers around outgoing calls, and
//! the params they send.

mod outgoing;
mod params_builder;
mod peer;
mod stream;

pub use outgoing::{OutgoingCall, OutgoingLayer, OutgoingLayers, OutgoingNext, OutgoingRunning};
pub use params_builder::{AsPeer, ParamsBuilder};
pub use peer::Peer;
pub use stream::{Subscription, SubscriptionEvent};
