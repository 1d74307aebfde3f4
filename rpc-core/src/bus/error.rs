//! Why a publish failed.

use crate::protocol::{ErrorCode, ErrorObject};

/// Why [`publish`](super::publish) or [`Bus::publish_raw`](super::Bus::publish_raw)
/// failed; in either case the item was not published.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// The item did not serialize to JSON.
    #[error("the item did not serialize")]
    Serialize(#[source] serde_json::Error),
    /// The bus could not do it (its server is down, refused it, or did not
    /// answer within the bus's time bound): an item was not published, a
    /// subscription not started.
    #[error("the bus is unavailable: {0}")]
    Unavailable(String),
    /// The bus did not confirm in time: the item may or may not have been
    /// published (its subscribers will see it at most once either way).
    #[error("the bus did not confirm the publish: {0}")]
    Unconfirmed(String),
}

impl From<BusError> for ErrorObject {
    /// A handler that uses the bus can answer its caller with `?`: -32007
    /// ([`ErrorCode::BUS_UNAVAILABLE`]) when the bus did not take or confirm
    /// the call, -32603 for an item that does not serialize.
    fn from(err: BusError) -> ErrorObject {
        match err {
            BusError::Serialize(_) => ErrorObject::internal_error(err),
            BusError::Unavailable(_) | BusError::Unconfirmed(_) => {
                ErrorObject::new(ErrorCode::BUS_UNAVAILABLE, err.to_string())
            }
        }
    }
}
