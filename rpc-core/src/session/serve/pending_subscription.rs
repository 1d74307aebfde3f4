//! A subscribe call not yet answered, handed to its handler.

use std::marker::PhantomData;

use serde::Serialize;

use super::accept::{self, PendingRaw};
use super::sink::SubscriptionSink;
use super::sink_error::AcceptError;
use crate::protocol::{ErrorObject, Position};

/// A subscribe call not yet answered: accept it to get a sink, or reject it.
///
/// Dropping it unanswered answers the call with -32603.
///
/// # Examples
///
/// ```
/// use wirecall::{Context, ErrorObject, Params, PendingSubscription, Router, SinkConfig};
///
/// let mut router = Router::new();
/// router.subscription(
///     "subscribe_countdown",
///     "countdown",
///     "unsubscribe_countdown",
///     SinkConfig::default(),
///     |params: Params<'_>, _: &Context, pending: PendingSubscription<u32>| {
///         let (from,): (u32,) = params.parse()?;
///         Ok(async move {
///             if from > 1_000 {
///                 return pending.reject(ErrorObject::invalid_params("at most 1000"));
///             }
///             let Ok(sink) = pending.accept() else { return };
///             for n in (0..=from).rev() {
///                 if sink.send(&n).await.is_err() {
///                     return; // unsubscribed or disconnected
///                 }
///             }
///         })
///     },
/// )?;
/// # Ok::<(), wirecall::RegisterError>(())
/// ```
#[derive(Debug)]
pub struct PendingSubscription<T> {
    raw: PendingRaw,
    item: PhantomData<fn(&T)>,
}

impl<T: Serialize> PendingSubscription<T> {
    /// Answers the call with a fresh subscription id and returns the sink for
    /// its items. Items sent before the answer is on the wire wait in the buffer.
    ///
    /// # Errors
    ///
    /// [`AcceptError`] when the connection allows no more subscriptions (the
    /// call is then answered with an error) or is gone.
    pub fn accept(self) -> Result<SubscriptionSink<T>, AcceptError> {
        accept::accept(self.raw).map(SubscriptionSink::from_shared)
    }

    /// The position a resuming client asks to carry on after (see
    /// `Peer::subscribe_from`); `None` for a fresh subscription. A handler
    /// fed from a bus hands it to
    /// [`Bus::subscribe_from`](crate::bus::Bus::subscribe_from).
    pub fn resume_from(&self) -> Option<&Position> {
        self.raw.resume_from.as_ref()
    }

    /// Answers the call with `error`; no subscription is created.
    pub fn reject(self, error: impl Into<ErrorObject>) {
        let _ = self.raw.responder.send(Err(error.into()));
    }
}

impl<T> PendingSubscription<T> {
    /// Makes the subscription without answering the call yet (see
    /// [`accept::prepare`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn prepare(
        self,
    ) -> Result<(std::sync::Arc<super::sink::SinkShared>, accept::Unanswered), AcceptError> {
        accept::prepare(self.raw)
    }

    pub(crate) fn from_raw(raw: PendingRaw) -> PendingSubscription<T> {
        PendingSubscription {
            raw,
            item: PhantomData,
        }
    }
}
