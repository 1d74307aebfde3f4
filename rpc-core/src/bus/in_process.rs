//! The bus inside one process: per topic, a broadcast channel for live
//! delivery and a bounded history for replay.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use tokio::sync::broadcast;

use super::{Bus, BusEvent, Position, Resume, TopicStream};

/// Topics created by buses of this process, so every topic's epoch is new.
static TOPICS_MADE: AtomicU64 = AtomicU64::new(0);

/// A bus inside one process: per topic, a bounded broadcast channel for
/// live delivery and a bounded history (by count and by age) for replay.
///
/// Every topic has an epoch, made when the topic is (so a restarted server,
/// or a topic forgotten and begun again, has a new one) and offsets from 1.
/// A topic with no subscribers and nothing left in its history is
/// forgotten.
///
/// # Examples
///
/// ```
/// use wirecall::bus::{self, Bus, BusEvent, InProcessBus, Resume};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let bus = InProcessBus::new(16);
/// let mut room = bus.subscribe("room-1").await?;
/// bus::publish(&bus, "room-1", &"hello").await.unwrap();
/// let Some(BusEvent::Item(item, at)) = room.next().await else { panic!() };
/// assert_eq!((item.get(), at.offset), (r#""hello""#, 1));
///
/// // Later, on another connection: everything after `at`, then live.
/// bus::publish(&bus, "room-1", &"again").await.unwrap();
/// let mut resumed = bus.subscribe_from("room-1", Some(&at)).await?;
/// assert!(matches!(resumed.next().await, Some(BusEvent::Resumed(Resume::Exact))));
/// let Some(BusEvent::Item(item, _)) = resumed.next().await else { panic!() };
/// assert_eq!(item.get(), r#""again""#);
/// # Ok::<(), wirecall::bus::BusError>(())
/// # }).unwrap();
/// # use futures_util::StreamExt;
/// ```
#[derive(Debug)]
pub struct InProcessBus {
    topics: Mutex<HashMap<String, Topic>>,
    capacity: usize,
    history_len: usize,
    history_age: Duration,
    /// Publishes since the last sweep for forgotten topics.
    publishes: AtomicU64,
}

#[derive(Debug)]
struct Topic {
    epoch: Arc<str>,
    /// The offset the next publish gets.
    next: u64,
    sender: broadcast::Sender<(u64, Arc<RawValue>)>,
    history: VecDeque<(u64, Arc<RawValue>, Instant)>,
}

/// Publishes between two sweeps for topics nobody needs any more.
const SWEEP_EVERY: u64 = 1024;

impl InProcessBus {
    /// A bus whose topics buffer `capacity` items per slow subscriber, with
    /// the default history: the last 1024 items of each topic, at most 5
    /// minutes old.
    pub fn new(capacity: usize) -> InProcessBus {
        InProcessBus {
            topics: Mutex::default(),
            capacity: capacity.max(1),
            history_len: 1024,
            history_age: Duration::from_secs(300),
            publishes: AtomicU64::new(0),
        }
    }

    /// Keeps the last `len` items of each topic, none older than `max_age`,
    /// for subscribers that resume (0 keeps none).
    #[must_use]
    pub fn with_history(mut self, len: usize, max_age: Duration) -> InProcessBus {
        self.history_len = len;
        self.history_age = max_age;
        self
    }

    /// Topics the bus holds (with subscribers or history).
    pub fn topic_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Topic>> {
        self.topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn new_topic(&self) -> Topic {
        let made = TOPICS_MADE.fetch_add(1, Ordering::Relaxed);
        Topic {
            epoch: Arc::from(fresh_epoch(made)),
            next: 1,
            sender: broadcast::channel(self.capacity).0,
            history: VecDeque::new(),
        }
    }

    /// Forgets topics with no subscribers whose history has expired.
    fn sweep(&self, topics: &mut HashMap<String, Topic>) {
        let now = Instant::now();
        topics.retain(|_, topic| {
            topic.expire(now, self.history_age);
            topic.sender.receiver_count() > 0 || !topic.history.is_empty()
        });
    }
}

impl Topic {
    fn expire(&mut self, now: Instant, max_age: Duration) {
        while self
            .history
            .front()
            .is_some_and(|(_, _, at)| now.duration_since(*at) > max_age)
        {
            self.history.pop_front();
        }
    }

    /// How a subscriber that last saw `since` picks up, and the items to
    /// replay to it: after a reset, all the topic holds.
    fn replay(&self, since: &Position) -> (Resume, Vec<(u64, Arc<RawValue>)>) {
        if *since.epoch != *self.epoch || since.offset >= self.next {
            let all = self
                .history
                .iter()
                .map(|(offset, item, _)| (*offset, item.clone()))
                .collect();
            return (Resume::Reset, all);
        }
        let first_kept = self
            .history
            .front()
            .map_or(self.next, |(offset, _, _)| *offset);
        let missed = first_kept.saturating_sub(since.offset + 1);
        let items = self
            .history
            .iter()
            .filter(|(offset, _, _)| *offset > since.offset)
            .map(|(offset, item, _)| (*offset, item.clone()))
            .collect();
        let resume = if missed == 0 {
            Resume::Exact
        } else {
            Resume::Gap(missed)
        };
        (resume, items)
    }
}

/// An epoch no earlier topic had: the process start time and a counter.
fn fresh_epoch(made: u64) -> String {
    static STARTED: std::sync::OnceLock<u128> = std::sync::OnceLock::new();
    let started = STARTED.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos())
    });
    format!("{started:x}-{}-{made:x}", std::process::id())
}

impl Default for InProcessBus {
    /// 1024 items per topic for slow subscribers; the default history.
    fn default() -> InProcessBus {
        InProcessBus::new(1024)
    }
}

impl Bus for InProcessBus {
    fn publish_raw(&self, topic: &str, item: Arc<RawValue>) -> super::Publishing<'_> {
        Box::pin(std::future::ready(Ok(self.publish_now(topic, item))))
    }

    fn subscribe(&self, topic: &str) -> super::Subscribing<'_> {
        self.subscribe_from(topic, None)
    }

    fn subscribe_from(&self, topic: &str, since: Option<&Position>) -> super::Subscribing<'_> {
        Box::pin(std::future::ready(Ok(self.subscribe_now(topic, since))))
    }
}

impl InProcessBus {
    /// Gives `item` the topic's next offset, keeps it, and sends it live.
    fn publish_now(&self, topic: &str, item: Arc<RawValue>) -> Position {
        let mut topics = self.lock();
        if self.publishes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep(&mut topics);
        }
        let has_subscribers = topics
            .get(topic)
            .is_some_and(|t| t.sender.receiver_count() > 0);
        if !has_subscribers && self.history_len == 0 {
            // Nobody to tell and nothing kept: the topic is not made, so
            // the position names an offset no one will ever see.
            let topic = topics.get_mut(topic);
            return match topic {
                Some(topic) => {
                    topic.next += 1;
                    Position {
                        epoch: topic.epoch.clone(),
                        offset: topic.next - 1,
                    }
                }
                None => Position {
                    epoch: Arc::from(""),
                    offset: 0,
                },
            };
        }
        let topic = topics
            .entry(topic.to_owned())
            .or_insert_with(|| self.new_topic());
        let offset = topic.next;
        topic.next += 1;
        if self.history_len > 0 {
            topic.expire(Instant::now(), self.history_age);
            if topic.history.len() >= self.history_len {
                topic.history.pop_front();
            }
            topic
                .history
                .push_back((offset, item.clone(), Instant::now()));
        }
        // No receiver is fine: history keeps it for those who resume.
        let _ = topic.sender.send((offset, item));
        Position {
            epoch: topic.epoch.clone(),
            offset,
        }
    }

    /// History after `since` (and how the resume goes), then live.
    fn subscribe_now(&self, topic: &str, since: Option<&Position>) -> TopicStream {
        let mut topics = self.lock();
        let topic = topics
            .entry(topic.to_owned())
            .or_insert_with(|| self.new_topic());
        topic.expire(Instant::now(), self.history_age);
        // Under the lock, so no publish falls between the replay and live.
        let receiver = topic.sender.subscribe();
        let epoch = topic.epoch.clone();
        let (first, replay) = match since {
            Some(since) => {
                let (resume, items) = topic.replay(since);
                (Some(BusEvent::Resumed(resume)), items)
            }
            None => (None, Vec::new()),
        };
        drop(topics);
        let replayed = {
            let epoch = epoch.clone();
            replay.into_iter().map(move |(offset, item)| {
                BusEvent::Item(
                    item,
                    Position {
                        epoch: epoch.clone(),
                        offset,
                    },
                )
            })
        };
        let head = first.into_iter().chain(replayed);
        let live = futures_util::stream::unfold(receiver, move |mut receiver| {
            let epoch = epoch.clone();
            async move {
                let event = match receiver.recv().await {
                    Ok((offset, item)) => BusEvent::Item(item, Position { epoch, offset }),
                    Err(broadcast::error::RecvError::Lagged(missed)) => BusEvent::Lagged(missed),
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                Some((event, receiver))
            }
        });
        Box::pin(futures_util::StreamExt::chain(
            futures_util::stream::iter(head),
            live,
        ))
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::bus::publish;

    async fn item_of(stream: &mut TopicStream) -> (String, u64) {
        match stream.next().await {
            Some(BusEvent::Item(item, at)) => (item.get().to_owned(), at.offset),
            other => panic!("expected an item, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_slow_subscriber_is_told_what_it_missed() {
        let bus = InProcessBus::new(2);
        let mut slow = bus.subscribe("t").await.unwrap();
        for n in 0..5 {
            publish(&bus, "t", &n).await.unwrap();
        }
        assert!(matches!(slow.next().await, Some(BusEvent::Lagged(3))));
        assert_eq!(item_of(&mut slow).await, ("3".into(), 4));
        assert_eq!(item_of(&mut slow).await, ("4".into(), 5));
    }

    #[tokio::test]
    async fn one_publish_reaches_every_subscriber_once() {
        let bus = InProcessBus::default();
        let mut a = bus.subscribe("room").await.unwrap();
        let mut b = bus.subscribe("room").await.unwrap();
        let mut other = bus.subscribe("other").await.unwrap();
        publish(&bus, "room", &"hi").await.unwrap();
        for stream in [&mut a, &mut b] {
            assert_eq!(item_of(stream).await, (r#""hi""#.into(), 1));
        }
        drop(bus);
        assert!(a.next().await.is_none());
        assert!(other.next().await.is_none());
    }

    #[tokio::test]
    async fn a_resume_replays_exactly_what_came_after_its_position() {
        let bus = InProcessBus::default();
        for n in 1..=5 {
            publish(&bus, "t", &n).await.unwrap();
        }
        let epoch = bus.subscribe("t").await.unwrap();
        drop(epoch);
        let since = Position {
            epoch: bus.lock()["t"].epoch.clone(),
            offset: 3,
        };
        let mut resumed = bus.subscribe_from("t", Some(&since)).await.unwrap();
        assert!(matches!(
            resumed.next().await,
            Some(BusEvent::Resumed(Resume::Exact))
        ));
        publish(&bus, "t", &6).await.unwrap();
        for n in 4..=6 {
            assert_eq!(item_of(&mut resumed).await, (n.to_string(), n));
        }
    }

    #[tokio::test]
    async fn a_resume_past_history_reports_the_exact_gap() {
        let bus = InProcessBus::default().with_history(2, Duration::from_secs(60));
        for n in 1..=10 {
            publish(&bus, "t", &n).await.unwrap();
        }
        let since = Position {
            epoch: bus.lock()["t"].epoch.clone(),
            offset: 4,
        };
        let mut resumed = bus.subscribe_from("t", Some(&since)).await.unwrap();
        // 5..=8 are gone; 9 and 10 are kept.
        assert!(matches!(
            resumed.next().await,
            Some(BusEvent::Resumed(Resume::Gap(4)))
        ));
        assert_eq!(item_of(&mut resumed).await, ("9".into(), 9));
        assert_eq!(item_of(&mut resumed).await, ("10".into(), 10));
    }

    #[tokio::test]
    async fn another_epoch_is_a_reset_then_all_the_topic_holds() {
        let bus = InProcessBus::default();
        publish(&bus, "t", &1).await.unwrap();
        let since = Position {
            epoch: Arc::from("an epoch of another bus"),
            offset: 1,
        };
        let mut resumed = bus.subscribe_from("t", Some(&since)).await.unwrap();
        assert!(matches!(
            resumed.next().await,
            Some(BusEvent::Resumed(Resume::Reset))
        ));
        assert_eq!(item_of(&mut resumed).await, ("1".into(), 1));
        publish(&bus, "t", &2).await.unwrap();
        assert_eq!(item_of(&mut resumed).await, ("2".into(), 2));
    }

    #[tokio::test]
    async fn forgotten_topics_are_swept() {
        let bus = InProcessBus::default().with_history(4, Duration::ZERO);
        for n in 0..SWEEP_EVERY {
            publish(&bus, &format!("t{n}"), &n).await.unwrap();
        }
        assert!(bus.topic_count() <= 1, "{} topics held", bus.topic_count());
    }
}
