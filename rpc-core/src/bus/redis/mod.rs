//! A bus shared by every server node through Redis (feature `redis`).
//!
//! A publish runs one Lua script in Redis: it gives the item the topic's
//! next offset, appends it to the topic's history (a stream bounded by
//! length, its items by age) and publishes it on the topic's channel, all
//! at once, so every node sees the same positions. Each node keeps one
//! pub/sub connection for the topics its subscribers follow, and one feed
//! per topic that checks offsets as items arrive, once for all the node's
//! subscribers of it, and writes them into the node's subscriptions itself: a hole (a dropped message, a pub/sub connection that
//! came back) is filled from the history, and what history no longer has
//! is reported as an exact lag. A topic whose epoch changes (Redis lost its
//! data) is reported as a restart.

mod attach;
mod builder;
mod feed;
mod follower;
mod link;
mod listener;
mod presence;
mod presence_heartbeat;
mod presence_node;
mod presence_scripts;
mod scripts;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::{broadcast, mpsc, watch};

use super::{Bus, BusError, Position, Publishing, Subscribing};
pub use builder::RedisBusBuilder;
use builder::Target;
use link::Commands;
pub use presence::RedisPresence;
use scripts::Snapshot;

/// A [`Bus`] whose topics live in Redis, shared by every node connected to
/// the same Redis: a client may resume on any node.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use std::time::Duration;
/// use wirecall::bus::{self, RedisBus};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let bus = Arc::new(
///     RedisBus::builder("redis://127.0.0.1:6379/")
///         .history(10_000, Duration::from_secs(600))
///         .connect()
///         .await?,
/// );
/// bus::publish(&*bus, "room-1", &"hello from this node").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisBus {
    shared: Arc<Shared>,
}

struct Shared {
    /// For the pub/sub connection of a single server.
    client: Option<redis::Client>,
    commands: Commands,
    prefix: String,
    history_len: usize,
    history_age: Duration,
    meta_age: Duration,
    timeout: Duration,
    live_capacity: usize,
    /// The topics this node follows, by channel name.
    topics: tokio::sync::Mutex<HashMap<String, listener::Followed>>,
    /// The node's one feed of each topic its subscribers read, by topic.
    feeds: std::sync::Mutex<HashMap<String, feed::FeedHandle>>,
    /// The pub/sub connection's generation: 0 while it is down.
    listening: watch::Sender<u64>,
    /// Where new channels are subscribed, while the pub/sub connection is up.
    sink: std::sync::Mutex<Option<redis::aio::PubSubSink>>,
    /// Cancelled when the last handle goes: the listener stops.
    stop: tokio_util::sync::CancellationToken,
    publish: redis::Script,
    read: redis::Script,
    epochs_made: AtomicU64,
}

/// What the pub/sub listener hands each follower of a topic.
#[derive(Debug, Clone)]
enum Live {
    Item {
        offset: u64,
        epoch: Arc<str>,
        item: Arc<RawValue>,
    },
    /// The pub/sub connection came back: messages may have been lost.
    Resync,
}

impl RedisBus {
    /// Settings for a bus on the Redis at `url` (`redis://host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisBusBuilder {
        RedisBusBuilder::new(Target::Single(url.into()))
    }

    /// Settings for a bus on a Redis Cluster reached through `nodes` (any
    /// of its masters, `redis://host:port`). A topic's keys and channel
    /// live on one shard, and its live items use sharded pub/sub
    /// (`SPUBLISH`/`SSUBSCRIBE`), so topics spread over the shards.
    pub fn cluster_builder<I, S>(nodes: I) -> RedisBusBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RedisBusBuilder::new(Target::Cluster(nodes.into_iter().map(Into::into).collect()))
    }

    /// Whether the pub/sub connection is up right now.
    pub fn is_listening(&self) -> bool {
        *self.shared.listening.borrow() != 0
    }

    /// Waits until the pub/sub connection is up (after a connect, or after
    /// Redis came back).
    pub async fn listening(&self) {
        let mut listening = self.shared.listening.subscribe();
        let _ = listening.wait_for(|generation| *generation != 0).await;
    }
}

/// Pushes (sharded pub/sub messages) queued from a cluster connection.
type Pushes = mpsc::Receiver<redis::PushInfo>;

impl Shared {
    fn meta_key(&self, topic: &str) -> String {
        format!("{}:{{{topic}}}:meta", self.prefix)
    }

    fn history_key(&self, topic: &str) -> String {
        format!("{}:{{{topic}}}:history", self.prefix)
    }

    fn channel(&self, topic: &str) -> String {
        format!("{}:{{{topic}}}:live", self.prefix)
    }

    /// An epoch no other node or restart will make.
    fn fresh_epoch(&self) -> String {
        let made = self.epochs_made.fetch_add(1, Ordering::Relaxed);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        format!("{now:x}-{:x}-{made:x}", std::process::id())
    }

    /// The keys and args every script that publishes on `topic` takes
    /// first (see `scripts::PUBLISH_FN`).
    fn publishing(&self, topic: &str) -> ([String; 2], [String; 6]) {
        (
            [self.meta_key(topic), self.history_key(topic)],
            [
                self.history_len.to_string(),
                millis(self.history_age).to_string(),
                millis(self.meta_age.max(self.history_age)).to_string(),
                self.channel(topic),
                self.fresh_epoch(),
                self.commands.publish_command().to_owned(),
            ],
        )
    }

    async fn publish(&self, topic: &str, item: &RawValue) -> Result<Position, BusError> {
        let mut invocation = self.publish.prepare_invoke();
        let ([meta, history], args) = self.publishing(topic);
        invocation.key(meta).key(history);
        for arg in args {
            invocation.arg(arg);
        }
        invocation.arg(item.get());
        let mut commands = self.commands.clone();
        let published = tokio::time::timeout(
            self.timeout,
            invocation.invoke_async::<(u64, String)>(&mut commands),
        )
        .await;
        match published {
            Ok(Ok((offset, epoch))) => Ok(Position {
                epoch: Arc::from(epoch),
                offset,
            }),
            Ok(Err(err)) => Err(unavailable(err)),
            Err(_) => Err(BusError::Unconfirmed(format!(
                "no answer from Redis within {:?}",
                self.timeout
            ))),
        }
    }

    /// The topic's epoch and head, and its history after `after`.
    async fn read(&self, topic: &str, after: u64) -> Result<Snapshot, String> {
        let mut invocation = self.read.prepare_invoke();
        invocation
            .key(self.meta_key(topic))
            .key(self.history_key(topic))
            .arg(after);
        let mut commands = self.commands.clone();
        let reply = tokio::time::timeout(self.timeout, invocation.invoke_async(&mut commands))
            .await
            .map_err(|_| format!("no answer from Redis within {:?}", self.timeout))?
            .map_err(|err| err.to_string())?;
        Snapshot::decode(reply, millis(self.history_age))
    }

    /// A receiver of `topic`'s live items, subscribing its channel if this
    /// node did not follow it yet.
    async fn follow(&self, topic: &str) -> broadcast::Receiver<Live> {
        listener::follow(self, topic).await
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Bus for RedisBus {
    fn publish_raw(&self, topic: &str, item: Arc<RawValue>) -> Publishing<'_> {
        let topic = topic.to_owned();
        Box::pin(async move { self.shared.publish(&topic, &item).await })
    }

    fn subscribe(&self, topic: &str) -> Subscribing<'_> {
        self.subscribe_from(topic, None)
    }

    /// Answers within the bus's `timeout` (2 s unless set): a Redis that
    /// does not answer by then refuses the subscription with
    /// [`BusError::Unavailable`].
    fn subscribe_from(&self, topic: &str, since: Option<&Position>) -> Subscribing<'_> {
        Box::pin(follower::stream(
            self.shared.clone(),
            topic.to_owned(),
            since.cloned(),
        ))
    }

    fn direct(&self) -> Option<&dyn super::DirectBus> {
        Some(self)
    }
}

impl fmt::Debug for RedisBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBus")
            .field("prefix", &self.shared.prefix)
            .field("history_len", &self.shared.history_len)
            .field("history_age", &self.shared.history_age)
            .field("listening", &self.is_listening())
            .finish_non_exhaustive()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(unavailable)`
fn unavailable(err: redis::RedisError) -> BusError {
    BusError::Unavailable(err.to_string())
}
