//! Publish/subscribe of topics behind one small seam.
//!
//! Subscriptions are often fed by a topic ("room 42 changed") that many
//! connections watch. A [`Bus`] carries already-serialized items, so a
//! publish is serialized once however many subscribers receive it; each
//! subscriber's frame then only copies those bytes. [`InProcessBus`] is the
//! default; a bus shared between processes (Redis, say) implements the same
//! trait and nothing above it changes.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::Stream;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::broadcast;

use crate::session::{SendError, SubscriptionSink};

/// What a topic subscriber receives.
#[derive(Debug, Clone)]
pub enum BusEvent {
    /// One published item, serialized once for everyone.
    Item(Arc<RawValue>),
    /// This subscriber fell behind the bus and missed this many items.
    Lagged(u64),
}

/// A subscriber's view of one topic.
pub type TopicStream = Pin<Box<dyn Stream<Item = BusEvent> + Send>>;

/// The seam between what changes and who is told.
pub trait Bus: Send + Sync + 'static {
    /// Delivers `item` (JSON) to every current subscriber of `topic`.
    fn publish_raw(&self, topic: &str, item: Arc<RawValue>);

    /// Starts receiving what is published on `topic` from now on.
    fn subscribe(&self, topic: &str) -> TopicStream;
}

/// Serializes `item` once and publishes it.
///
/// # Errors
///
/// When `item` does not serialize.
pub fn publish<B: Bus + ?Sized, T: Serialize + ?Sized>(
    bus: &B,
    topic: &str,
    item: &T,
) -> Result<(), serde_json::Error> {
    let raw = serde_json::value::to_raw_value(item)?;
    bus.publish_raw(topic, Arc::from(raw));
    Ok(())
}

/// Forwards a topic into a subscription until either ends. A subscriber that
/// falls behind the bus is told with a lag notice, never silently skipped.
///
/// # Errors
///
/// [`SendError::Closed`] once the subscription has ended.
pub async fn forward<T: Serialize>(
    mut topic: TopicStream,
    sink: &SubscriptionSink<T>,
) -> Result<(), SendError> {
    use futures_util::StreamExt;
    loop {
        tokio::select! {
            event = topic.next() => match event {
                Some(BusEvent::Item(item)) => sink.send_raw(&item).await?,
                Some(BusEvent::Lagged(missed)) => sink.report_lagged(missed),
                None => return Ok(()),
            },
            () = sink.closed() => return Err(SendError::Closed),
        }
    }
}

/// A bus inside one process: one bounded broadcast channel per topic.
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use wirecall::bus::{self, Bus, BusEvent, InProcessBus};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let bus = InProcessBus::new(16);
/// let mut room = bus.subscribe("room-1");
/// bus::publish(&bus, "room-1", &"hello").unwrap();
/// let Some(BusEvent::Item(item)) = room.next().await else { panic!() };
/// assert_eq!(item.get(), r#""hello""#);
/// # });
/// ```
#[derive(Debug)]
pub struct InProcessBus {
    topics: Mutex<HashMap<String, broadcast::Sender<Arc<RawValue>>>>,
    capacity: usize,
}

impl InProcessBus {
    /// A bus whose topics buffer `capacity` items per slow subscriber.
    pub fn new(capacity: usize) -> InProcessBus {
        InProcessBus {
            topics: Mutex::default(),
            capacity: capacity.max(1),
        }
    }

    /// Topics that have had a subscriber.
    pub fn topic_count(&self) -> usize {
        self.topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

impl Default for InProcessBus {
    /// 1024 items per topic.
    fn default() -> InProcessBus {
        InProcessBus::new(1024)
    }
}

impl Bus for InProcessBus {
    fn publish_raw(&self, topic: &str, item: Arc<RawValue>) {
        let mut topics = self
            .topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(sender) = topics.get(topic) {
            if sender.send(item).is_err() {
                // Nobody listens any more: forget the topic.
                topics.remove(topic);
            }
        }
    }

    fn subscribe(&self, topic: &str) -> TopicStream {
        let mut topics = self
            .topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sender = topics
            .entry(topic.to_owned())
            .or_insert_with(|| broadcast::channel(self.capacity).0);
        let receiver = sender.subscribe();
        Box::pin(futures_util::stream::unfold(
            receiver,
            |mut receiver| async move {
                let event = match receiver.recv().await {
                    Ok(item) => BusEvent::Item(item),
                    Err(broadcast::error::RecvError::Lagged(missed)) => BusEvent::Lagged(missed),
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                Some((event, receiver))
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_slow_subscriber_is_told_what_it_missed() {
        let bus = InProcessBus::new(2);
        let mut slow = bus.subscribe("t");
        for n in 0..5 {
            publish(&bus, "t", &n).unwrap();
        }
        assert!(matches!(slow.next().await, Some(BusEvent::Lagged(3))));
        for n in 3..5 {
            let Some(BusEvent::Item(item)) = slow.next().await else {
                panic!()
            };
            assert_eq!(item.get(), n.to_string());
        }
    }

    #[tokio::test]
    async fn one_publish_reaches_every_subscriber_once() {
        let bus = InProcessBus::default();
        let mut a = bus.subscribe("room");
        let mut b = bus.subscribe("room");
        let mut other = bus.subscribe("other");
        publish(&bus, "room", &"hi").unwrap();
        for stream in [&mut a, &mut b] {
            let Some(BusEvent::Item(item)) = stream.next().await else {
                panic!()
            };
            assert_eq!(item.get(), r#""hi""#);
        }
        drop(bus);
        assert!(a.next().await.is_none());
        assert!(other.next().await.is_none());
    }
}
