//! Publish/subscribe of topics behind one small seam.
//!
//! Subscriptions are often fed by a topic ("room 42 changed") that many
//! connections watch. A [`Bus`] carries already-serialized items, so a
//! publish is serialized once however many subscribers receive it; each
//! subscriber's frame then only copies those bytes. Every item gets a
//! [`Position`] in its topic — an epoch and an increasing offset — and a
//! bus that keeps history can replay what a subscriber missed since a
//! position ([`Bus::subscribe_from`]), which is how a client that lost its
//! connection resumes with nothing lost and nothing doubled.
//! [`InProcessBus`] is the default; a bus shared between processes (Redis,
//! say) implements the same trait and nothing above it changes.

mod error;
mod follow;
mod in_process;
pub mod presence;
#[cfg(feature = "redis")]
mod redis;
mod serve;
mod subscriber;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::Stream;
use serde::Serialize;
use serde_json::value::RawValue;

pub use crate::protocol::{Position, Resume};
pub use error::BusError;
pub use follow::{follow, forward};
pub use in_process::InProcessBus;
#[cfg(feature = "redis")]
pub use redis::{RedisBus, RedisBusBuilder};
pub use serve::{serve_topic, TopicMethods};
use subscriber::DirectBus;

/// What a topic subscriber receives.
#[derive(Debug, Clone)]
pub enum BusEvent {
    /// One published item, serialized once for everyone, and where it sits.
    Item(Arc<RawValue>, Position),
    /// This subscriber fell behind the bus and missed this many items.
    Lagged(u64),
    /// First on a stream opened with a position: how the replay went.
    Resumed(Resume),
}

/// A subscriber's view of one topic.
pub type TopicStream = Pin<Box<dyn Stream<Item = BusEvent> + Send>>;

/// A subscription being set up: done once everything published from now
/// on will reach the stream (and, with a position, once the replay is
/// read), or with the reason it could not be (a shared bus whose server
/// did not answer within its time bound).
pub type Subscribing<'a> = Pin<Box<dyn Future<Output = Result<TopicStream, BusError>> + Send + 'a>>;

/// A publish under way: done once the item has its position (and, for a
/// shared bus, is stored where every node can reach it), with that position.
pub type Publishing<'a> = Pin<Box<dyn Future<Output = Result<Position, BusError>> + Send + 'a>>;

/// The seam between what changes and who is told.
pub trait Bus: Send + Sync + 'static {
    /// Delivers `item` (JSON) to every current subscriber of `topic`, and
    /// answers the position it got there.
    ///
    /// # Errors
    ///
    /// [`BusError::Unavailable`] when the bus cannot take it (a shared bus
    /// whose server is down): the item was not published;
    /// [`BusError::Unconfirmed`] when the bus did not answer in time.
    fn publish_raw(&self, topic: &str, item: Arc<RawValue>) -> Publishing<'_>;

    /// Starts receiving what is published on `topic` from the moment the
    /// returned future is done.
    ///
    /// A shared bus answers within a bound it documents, with
    /// [`BusError::Unavailable`] when its server does not answer in time.
    fn subscribe(&self, topic: &str) -> Subscribing<'_>;

    /// Starts receiving `topic` after `since`: first a
    /// [`BusEvent::Resumed`] saying how the replay goes, then every item
    /// after `since` that history still holds, then live items — with no
    /// gap and no duplicate between replay and live. Without `since`, the
    /// same as [`Bus::subscribe`].
    ///
    /// When `since` is of another epoch (the topic was lost and began
    /// again), the replay says [`Resume::Reset`] and then gives everything
    /// the current epoch still holds from its start: the same as a live
    /// subscriber is given when it sees the epoch change.
    ///
    /// The default keeps no history: it says [`Resume::Reset`] and goes live.
    fn subscribe_from(&self, topic: &str, since: Option<&Position>) -> Subscribing<'_> {
        let resumed = since.is_some();
        let live = self.subscribe(topic);
        Box::pin(async move {
            let live = live.await?;
            if !resumed {
                return Ok(live);
            }
            let reset = futures_util::stream::iter([BusEvent::Resumed(Resume::Reset)]);
            let stream: TopicStream = Box::pin(futures_util::StreamExt::chain(reset, live));
            Ok(stream)
        })
    }

    /// A bus of this crate that writes published items straight into its
    /// subscribers' sinks answers itself here; [`follow`] then needs no
    /// task per delivery.
    #[doc(hidden)]
    fn direct(&self) -> Option<&dyn DirectBus> {
        None
    }
}

/// Serializes `item` once and publishes it; answers the position it got,
/// whose offset is unique within the topic's epoch (on every node of a
/// shared bus). An in-process bus that keeps no history and has no
/// subscriber for the topic keeps no topic either, and answers offset 0.
///
/// # Errors
///
/// [`BusError::Serialize`] when `item` does not serialize;
/// [`BusError::Unavailable`] when the bus cannot take it.
pub async fn publish<B: Bus + ?Sized, T: Serialize + ?Sized>(
    bus: &B,
    topic: &str,
    item: &T,
) -> Result<Position, BusError> {
    let raw = serde_json::value::to_raw_value(item).map_err(BusError::Serialize)?;
    bus.publish_raw(topic, Arc::from(raw)).await
}
