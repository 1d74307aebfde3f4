//! A node's one follower of a topic. It takes the topic's live items from
//! the pub/sub listener and checks every offset once for the whole node: a
//! duplicate is dropped, a hole is filled from history, what history no
//! longer holds is reported as lost, and a new epoch as a reset followed
//! by that epoch's items from its start. It writes what it checked into
//! the node's subscriptions of the topic itself (its audience), and hands
//! it to the node's streams of the topic through one local broadcast.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::broadcast;

use super::scripts::Snapshot;
use super::{Live, Shared};
use crate::bus::subscriber::{Audience, Subscriber};
use crate::bus::{BusError, Position};

/// What the feed hands each local subscriber of its topic.
#[derive(Debug, Clone)]
pub(super) enum Checked {
    /// The next item of the topic.
    Item(Arc<RawValue>, Position),
    /// Items `from..=to` of `epoch` are gone for good.
    Lost { epoch: Arc<str>, from: u64, to: u64 },
    /// The topic began epoch `epoch` (or lost its epoch, `None`, until its
    /// next publish starts one); its items from the start follow.
    Reset(Option<Arc<str>>),
}

/// How often an idle feed checks whether anyone still reads it.
const IDLE_CHECK: Duration = Duration::from_secs(5);

/// What a node keeps of its feed of a topic: where streams join it, and
/// the subscriptions it writes into.
#[derive(Debug, Clone)]
pub(super) struct FeedHandle {
    pub(super) sender: broadcast::Sender<Checked>,
    pub(super) audience: Arc<Mutex<FedAudience>>,
}

/// The subscriptions a feed writes into, and the last position it handed
/// on: a subscription resuming exactly there goes live.
#[derive(Debug, Default)]
pub(super) struct FedAudience {
    pub(super) subscribers: Audience,
    pub(super) epoch: Option<Arc<str>>,
    pub(super) last: u64,
}

impl FedAudience {
    /// Whether `position` is the last one handed on.
    pub(super) fn stands_at(&self, position: &Position) -> bool {
        self.epoch.as_deref().unwrap_or("") == &*position.epoch && self.last == position.offset
    }

    fn hand_on(&mut self, checked: &Checked) {
        match checked {
            Checked::Item(item, position) => {
                if self.epoch.as_deref() != Some(&*position.epoch) {
                    self.epoch = Some(position.epoch.clone());
                }
                self.last = position.offset;
                self.subscribers.deliver(item, position);
            }
            Checked::Lost { epoch, from, to } => {
                if self.epoch.as_deref() == Some(&**epoch) && *to > self.last {
                    let missed = to - self.last.max(from - 1);
                    self.subscribers
                        .each(|subscriber| subscriber.missed(missed));
                    self.last = *to;
                }
            }
            Checked::Reset(epoch) => {
                if self.epoch != *epoch {
                    if self.epoch.is_some() {
                        self.subscribers.each(Subscriber::restarted);
                    }
                    self.epoch.clone_from(epoch);
                    self.last = 0;
                }
            }
        }
    }
}

/// A receiver of `topic`'s checked items, starting the node's feed of it
/// if there is none. One try: the caller bounds it.
pub(super) async fn subscribe(
    shared: &Arc<Shared>,
    topic: &str,
) -> Result<broadcast::Receiver<Checked>, BusError> {
    feed_of(shared, topic, |feed| feed.sender.subscribe()).await
}

/// Runs `join` on the node's feed of `topic`, starting it if there is none:
/// it follows the channel, then reads the topic's head, so nothing
/// published in between is missed. `join` runs under the lock a feed takes
/// before it ends, so whoever it adds keeps the feed going. One try: the
/// caller bounds it.
pub(super) async fn feed_of<R>(
    shared: &Arc<Shared>,
    topic: &str,
    join: impl FnOnce(&FeedHandle) -> R,
) -> Result<R, BusError> {
    if let Some(feed) = shared.feeds.lock().expect("feeds lock").get(topic) {
        return Ok(join(feed));
    }
    let live = shared.follow(topic).await;
    let snapshot = shared
        .read(topic, u64::MAX)
        .await
        .map_err(BusError::Unavailable)?;
    let mut feeds = shared.feeds.lock().expect("feeds lock");
    if let Some(feed) = feeds.get(topic) {
        // Another subscriber started it meanwhile.
        return Ok(join(feed));
    }
    let handle = FeedHandle {
        sender: broadcast::channel(shared.live_capacity).0,
        audience: Arc::new(Mutex::new(FedAudience {
            subscribers: Audience::default(),
            epoch: snapshot.epoch.clone(),
            last: snapshot.head,
        })),
    };
    let joined = join(&handle);
    feeds.insert(topic.to_owned(), handle.clone());
    let feed = Feed {
        shared: Arc::downgrade(shared),
        topic: topic.to_owned(),
        handle,
        epoch: snapshot.epoch,
        last: snapshot.head,
        ready: VecDeque::new(),
    };
    tokio::spawn(feed.run(live));
    Ok(joined)
}

struct Feed {
    shared: Weak<Shared>,
    topic: String,
    handle: FeedHandle,
    /// The epoch followed, once known.
    epoch: Option<Arc<str>>,
    /// The last offset handed on or accounted for in that epoch.
    last: u64,
    ready: VecDeque<Checked>,
}

impl Feed {
    /// Checks live items until the bus is gone or nobody on this node reads
    /// the topic any more.
    async fn run(mut self, mut live: broadcast::Receiver<Live>) {
        let mut idle = tokio::time::interval(IDLE_CHECK);
        idle.tick().await;
        loop {
            let received = tokio::select! {
                received = live.recv() => Some(received),
                _ = idle.tick() => None,
            };
            let Some(shared) = self.shared.upgrade() else {
                return;
            };
            match received {
                Some(Ok(Live::Item {
                    offset,
                    epoch,
                    item,
                })) => self.on_item(&shared, offset, &epoch, item).await,
                // Messages may have been lost: the offsets in history tell.
                Some(Ok(Live::Resync) | Err(broadcast::error::RecvError::Lagged(_))) => {
                    self.catch_up(&shared).await;
                }
                Some(Err(broadcast::error::RecvError::Closed)) => {
                    self.forget(&shared);
                    return;
                }
                None => {}
            }
            if !self.ready.is_empty() {
                let mut audience = lock(&self.handle.audience);
                for checked in self.ready.drain(..) {
                    audience.hand_on(&checked);
                    let _ = self.handle.sender.send(checked);
                }
            }
            // Under the lock new subscribers take, so none joins a feed
            // that is about to end.
            let mut feeds = shared.feeds.lock().expect("feeds lock");
            if !self.is_read() {
                feeds.remove(&self.topic);
                return;
            }
        }
    }

    /// Whether anyone on this node still reads the topic.
    fn is_read(&self) -> bool {
        self.handle.sender.receiver_count() > 0
            || !lock(&self.handle.audience).subscribers.is_empty()
    }

    fn forget(&self, shared: &Shared) {
        let mut feeds = shared.feeds.lock().expect("feeds lock");
        if feeds
            .get(&self.topic)
            .is_some_and(|feed| feed.sender.same_channel(&self.handle.sender))
        {
            feeds.remove(&self.topic);
        }
    }

    async fn on_item(
        &mut self,
        shared: &Shared,
        offset: u64,
        epoch: &Arc<str>,
        item: Arc<RawValue>,
    ) {
        if self.epoch.as_deref() != Some(&**epoch) {
            if self.epoch.is_none() && self.last == 0 {
                // The topic's first epoch since this feed started.
                self.epoch = Some(epoch.clone());
            } else {
                // Another epoch than the one followed: Redis says which is
                // current (a catch-up reports a lost one as a reset), and
                // an item of a stale epoch still queued here is dropped.
                self.catch_up(shared).await;
                if self.epoch.as_deref() != Some(&**epoch) {
                    return;
                }
            }
        }
        if offset <= self.last {
            return;
        }
        if offset > self.last + 1 {
            // A hole: fill what history holds, count the rest.
            self.catch_up(shared).await;
            if self.epoch.as_deref() != Some(&**epoch) || offset <= self.last {
                return;
            }
            if offset > self.last + 1 {
                self.lost(self.last + 1, offset - 1);
            }
        }
        self.last = offset;
        self.ready
            .push_back(Checked::Item(item, self.position(offset)));
    }

    /// Hands on what history holds after the last offset; what it no
    /// longer holds is lost; another epoch is a reset.
    async fn catch_up(&mut self, shared: &Shared) {
        let Some(snapshot) = self.read(shared, self.last).await else {
            return;
        };
        if snapshot.epoch != self.epoch {
            self.epoch.clone_from(&snapshot.epoch);
            self.last = 0;
            self.ready.push_back(Checked::Reset(snapshot.epoch));
            if self.epoch.is_none() {
                return;
            }
            // Everything of the new epoch that is still kept.
            if let Some(snapshot) = self.read(shared, 0).await {
                if snapshot.epoch == self.epoch {
                    self.take(snapshot);
                }
            }
            return;
        }
        let first_kept = snapshot
            .items
            .first()
            .map_or(snapshot.head + 1, |(offset, _)| *offset);
        if first_kept > self.last + 1 {
            self.lost(self.last + 1, first_kept - 1);
        }
        self.take(snapshot);
    }

    /// Reads the topic after `after`, retrying while Redis is away, as
    /// long as anyone on this node still reads the feed.
    async fn read(&self, shared: &Shared, after: u64) -> Option<Snapshot> {
        read_while(shared, &self.topic, after, || self.is_read()).await
    }

    fn lost(&mut self, from: u64, to: u64) {
        if let Some(epoch) = &self.epoch {
            self.ready.push_back(Checked::Lost {
                epoch: epoch.clone(),
                from,
                to,
            });
        }
    }

    /// Queues a snapshot's items after the last offset, and moves the last
    /// offset to the snapshot's head.
    fn take(&mut self, snapshot: Snapshot) {
        for (offset, item) in snapshot.items {
            if offset > self.last {
                self.last = offset;
                self.ready
                    .push_back(Checked::Item(item, self.position(offset)));
            }
        }
        self.last = self.last.max(snapshot.head);
    }

    fn position(&self, offset: u64) -> Position {
        Position {
            epoch: self.epoch.clone().unwrap_or_else(|| Arc::from("")),
            offset,
        }
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads `topic` after `after`, retrying while Redis is away and `wanted`
/// says the answer is still wanted: a live stream waits meanwhile (it
/// cannot know what it missed) and recovers when Redis does.
pub(super) async fn read_while(
    shared: &Shared,
    topic: &str,
    after: u64,
    wanted: impl Fn() -> bool,
) -> Option<Snapshot> {
    let mut wait = Duration::from_millis(50);
    loop {
        match shared.read(topic, after).await {
            Ok(snapshot) => return Some(snapshot),
            Err(err) => {
                tracing::debug!(topic, %err, "reading a topic's history failed; retrying");
                if !wanted() || shared.stop.is_cancelled() {
                    return None;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    }
}
