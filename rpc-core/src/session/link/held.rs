//! A received subscription as its stream holds it: what ends it, on a fixed
//! connection or on a durable link that binds it again after each cut.

use std::sync::Arc;

use super::durable::{DurableLink, DurableSubscription};
use crate::session::call::ClientSubscriptionKey;
use crate::session::{CallError, Session};

/// What ends a received subscription.
#[derive(Debug)]
pub(crate) enum HeldSubscription {
    Fixed(Arc<Session>, ClientSubscriptionKey),
    Durable(Arc<DurableLink>, Arc<DurableSubscription>),
}

impl HeldSubscription {
    /// The id its connection gave it, as JSON text (empty while a durable
    /// one is being bound again).
    pub(crate) fn id(&self) -> String {
        match self {
            HeldSubscription::Fixed(_, key) => key.id.get().to_owned(),
            HeldSubscription::Durable(_, subscription) => subscription.id().unwrap_or_default(),
        }
    }

    /// Unsubscribes and waits for the other end to confirm.
    pub(crate) async fn unsubscribe(self) -> Result<(), CallError> {
        match self {
            HeldSubscription::Fixed(session, key) => session.unsubscribe(key).await,
            HeldSubscription::Durable(link, subscription) => link.unsubscribe(&subscription).await,
        }
    }

    /// Unsubscribes without waiting (its stream was dropped).
    pub(crate) fn unsubscribe_in_background(self) {
        match self {
            HeldSubscription::Fixed(session, key) => session.unsubscribe_in_background(&key),
            HeldSubscription::Durable(link, subscription) => {
                link.unsubscribe_in_background(&subscription);
            }
        }
    }

    /// The other end or the connection ended it: nothing to undo, and a
    /// durable link does not bind it again.
    pub(crate) fn ended(self) {
        if let HeldSubscription::Durable(link, subscription) = self {
            link.forget(&subscription);
        }
    }
}
