//! The bus inside one process: per topic, the subscriptions it writes into
//! as it publishes, a broadcast channel for streams, and a bounded history
//! for replay and for subscriptions catching up.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::value::RawValue;
use tokio::sync::broadcast;

use super::subscriber::{Attach, Attaching, Audience, DirectBus, Subscriber};
use super::{Bus, BusEvent, Position, Resume, TopicStream};

/// Topics created by buses of this process, so every topic's epoch is new.
static TOPICS_MADE: AtomicU64 = AtomicU64::new(0);

/// A bus inside one process: per topic, a bounded history (by count and
/// by age) for replay, and live delivery. A subscription that
/// [`bus::follow`](super::follow) feeds is written into by the publish
/// itself, with no task woken per item; a stream from
/// [`Bus::subscribe`] reads a bounded broadcast channel.
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
    /// Each topic has a lock of its own, so a publish that writes into
    /// many subscriptions holds up no other topic.
    topics: Mutex<HashMap<String, Arc<Mutex<Topic>>>>,
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
    /// Subscriptions written into as items are published.
    audience: Audience,
    /// Swept from the bus: whoever holds it looks the topic up again.
    forgotten: bool,
}

/// Publishes between two sweeps for topics nobody needs any more.
const SWEEP_EVERY: u64 = 1024;

impl InProcessBus {
    /// A bus whose topics buffer `capacity` items per slow stream (see
    /// [`Bus::subscribe`]; subscriptions fed by [`bus::follow`](super::follow)
    /// catch up from history instead), with the default history: the last 1024 items of each topic, at most 5
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
        lock(&self.topics).len()
    }

    fn new_topic(&self) -> Topic {
        let made = TOPICS_MADE.fetch_add(1, Ordering::Relaxed);
        Topic {
            epoch: Arc::from(fresh_epoch(made)),
            next: 1,
            sender: broadcast::channel(self.capacity).0,
            history: VecDeque::new(),
            audience: Audience::default(),
            forgotten: false,
        }
    }

    /// Runs `f` on topic `name` under its lock, making the topic if it is
    /// missing and `make` allows; `None` when it is missing and may not be
    /// made.
    fn with_topic<R>(&self, name: &str, make: bool, f: impl FnOnce(&mut Topic) -> R) -> Option<R> {
        let mut f = Some(f);
        loop {
            let topic = {
                let mut topics = lock(&self.topics);
                match topics.get(name) {
                    Some(topic) => topic.clone(),
                    None if make => {
                        let topic = Arc::new(Mutex::new(self.new_topic()));
                        topics.insert(name.to_owned(), topic.clone());
                        topic
                    }
                    None => return None,
                }
            };
            let mut topic = lock(&topic);
            if !topic.forgotten {
                topic.expire(Instant::now(), self.history_age);
                return f.take().map(|f| f(&mut topic));
            }
        }
    }

    /// Forgets topics with no subscribers whose history has expired. A
    /// topic busy under its own lock is kept until the next sweep.
    fn sweep(&self) {
        let now = Instant::now();
        lock(&self.topics).retain(|_, topic| {
            let Ok(mut topic) = topic.try_lock() else {
                return true;
            };
            topic.expire(now, self.history_age);
            let needed = !topic.audience.is_empty()
                || topic.sender.receiver_count() > 0
                || !topic.history.is_empty();
            topic.forgotten = !needed;
            needed
        });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Topic {
    fn has_subscribers(&mut self) -> bool {
        self.sender.receiver_count() > 0 || !self.audience.is_empty()
    }

    /// The position of the newest item, or offset 0 before any.
    fn newest(&self) -> Position {
        Position {
            epoch: self.epoch.clone(),
            offset: self.next - 1,
        }
    }

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
    /// 1024 items per topic for slow streams; the default history.
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

    fn direct(&self) -> Option<&dyn DirectBus> {
        Some(self)
    }
}

impl InProcessBus {
    /// Gives `item` the topic's next offset, keeps it, and hands it to
    /// every subscriber.
    fn publish_now(&self, name: &str, item: Arc<RawValue>) -> Position {
        if self.publishes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        let keeps = self.history_len > 0;
        let published = self.with_topic(name, keeps, move |topic| {
            topic.next += 1;
            let position = topic.newest();
            if !keeps && !topic.has_subscribers() {
                // Nobody to tell and nothing to keep.
                return position;
            }
            if keeps {
                if topic.history.len() >= self.history_len {
                    topic.history.pop_front();
                }
                let kept = (position.offset, item.clone(), Instant::now());
                topic.history.push_back(kept);
            }
            topic.audience.deliver(&item, &position);
            // No receiver is fine: history keeps it for those who resume.
            let _ = topic.sender.send((position.offset, item));
            position
        });
        // With no subscriber and nothing kept, the topic is not made: the
        // position names an offset no one will ever see.
        published.unwrap_or_else(|| Position {
            epoch: Arc::from(""),
            offset: 0,
        })
    }

    /// History after `since` (and how the resume goes), then live.
    fn subscribe_now(&self, name: &str, since: Option<&Position>) -> TopicStream {
        // Under the topic's lock, so no publish falls between the replay
        // and live.
        let (receiver, epoch, first, replay) = self
            .with_topic(name, true, |topic| {
                let (first, replay) = match since {
                    Some(since) => {
                        let (resume, items) = topic.replay(since);
                        (Some(BusEvent::Resumed(resume)), items)
                    }
                    None => (None, Vec::new()),
                };
                (topic.sender.subscribe(), topic.epoch.clone(), first, replay)
            })
            .expect("a topic is made when missing");
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

impl DirectBus for InProcessBus {
    fn attach<'a>(
        &'a self,
        name: &'a str,
        subscriber: &'a Arc<Subscriber>,
        since: Option<&'a Position>,
    ) -> Attaching<'a> {
        let since_offset = since.map_or(0, |since| since.offset);
        let attached = self.with_topic(name, true, |topic| {
            topic.audience.add(subscriber);
            let items = match since {
                Some(since) => {
                    let (resume, items) = topic.replay(since);
                    subscriber.resumed(resume);
                    items
                }
                None => Vec::new(),
            };
            if items.is_empty() {
                subscriber.go_live(topic.next - 1);
                return Attach::Live;
            }
            subscriber.hold();
            let epoch = &topic.epoch;
            let at = |offset| Position {
                epoch: epoch.clone(),
                offset,
            };
            let after = at(items.last().map_or(since_offset, |(offset, _)| *offset));
            let items = items
                .into_iter()
                .map(|(offset, item)| (item, at(offset)))
                .collect();
            Attach::Behind { items, after }
        });
        Box::pin(std::future::ready(Ok(
            attached.expect("a topic is made when missing")
        )))
    }

    fn detach(&self, name: &str, subscriber: &Arc<Subscriber>) {
        self.with_topic(name, false, |topic| topic.audience.remove(subscriber));
    }
}

#[cfg(test)]
#[path = "in_process_tests.rs"]
mod tests;
