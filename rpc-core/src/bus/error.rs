//! Why a publish failed.

use crate::protocol::ErrorObject;

/// Why [`publish`](super::publish) or [`Bus::publish_raw`](super::Bus::publish_raw)
/// failed; in either case the item was not published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The item did not serialize to JSON.
    #[error("the item did not serialize")]
    Serialize(#[source] serde_json::Error),
    /// The bus could not take the item (its server is down or refused it):
    /// it was not published.
    #[error("the bus is unavailable: {0}")]
    Unavailable(String),
    /// The bus did not confirm in time: the item may or may not have been
    /// published (its subscribers will see it at most once either way).
    #[error("the bus did not confirm the publish: {0}")]
    Unconfirmed(String),
}

impl From<BusError> for ErrorObject {
    /// A handler that publishes can answer its caller with `?`: -32603.
    fn from(err: BusError) -> ErrorObject {
        ErrorObject::internal_error(err)
    }
}
