//! Why a subscription could not be accepted, or an item not sent.

use crate::protocol::{ErrorCode, ErrorObject};

/// Why [`PendingSubscription::accept`](super::PendingSubscription::accept) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// The connection has as many subscriptions as its limit allows.
    #[error("the connection already has {0} subscriptions, its limit")]
    TooMany(usize),
    /// The connection is gone.
    #[error("the connection is closed")]
    Closed,
}

impl AcceptError {
    /// The error object a refused subscribe call is answered with.
    pub(crate) fn to_error_object(&self) -> ErrorObject {
        ErrorObject::new(ErrorCode::TOO_MANY_SUBSCRIPTIONS, self.to_string())
    }
}

/// Why an item could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The subscription ended: the client unsubscribed, was too slow under
    /// [`OverflowPolicy::Close`](super::OverflowPolicy::Close), or the
    /// connection closed.
    #[error("the subscription is closed")]
    Closed,
    /// The item did not serialize to JSON.
    #[error("the item did not serialize")]
    Serialize(#[source] serde_json::Error),
}
