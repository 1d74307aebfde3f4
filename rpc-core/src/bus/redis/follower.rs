//! One subscriber's view of a Redis topic. It starts from a snapshot (the
//! replay after its position, or the topic's head), then takes live items
//! and checks every offset: a duplicate is dropped, a hole is filled from
//! history, what history no longer holds is reported as a lag of the exact
//! size, and a new epoch is reported as a restart.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::broadcast;

use super::scripts::Snapshot;
use super::{Live, Shared};
use crate::bus::{BusError, BusEvent, Position, Resume, TopicStream};

struct Follower {
    shared: Arc<Shared>,
    topic: String,
    /// Set by `start`.
    receiver: Option<broadcast::Receiver<Live>>,
    since: Option<Position>,
    /// The epoch followed, once known.
    epoch: Option<Arc<str>>,
    /// The last offset delivered or accounted for in that epoch.
    last: u64,
    ready: VecDeque<BusEvent>,
}

/// The stream `Bus::subscribe_from` gives for a Redis topic, once it
/// follows the topic's channel and knows where to start; an error when
/// Redis does not say where to start within the bus's timeout.
pub(super) async fn stream(
    shared: Arc<Shared>,
    topic: String,
    since: Option<Position>,
) -> Result<TopicStream, BusError> {
    let bound = shared.timeout;
    let mut follower = Follower {
        shared,
        topic,
        receiver: None,
        since,
        epoch: None,
        last: 0,
        ready: VecDeque::new(),
    };
    tokio::time::timeout(bound, follower.start())
        .await
        .map_err(|_| BusError::Unavailable(format!("no answer from Redis within {bound:?}")))??;
    Ok(Box::pin(futures_util::stream::unfold(
        follower,
        |mut follower| async move {
            let event = follower.next().await?;
            Some((event, follower))
        },
    )))
}

impl Follower {
    async fn next(&mut self) -> Option<BusEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let receiver = self.receiver.as_mut()?;
            match receiver.recv().await {
                Ok(Live::Item {
                    offset,
                    epoch,
                    item,
                }) => self.on_item(offset, &epoch, item).await,
                // Messages may have been lost: the offsets in history tell.
                Ok(Live::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.catch_up().await;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Follows the channel first, then reads where to start, so nothing
    /// published in between is missed. Tries once: the caller bounds it.
    async fn start(&mut self) -> Result<(), BusError> {
        self.receiver = Some(self.shared.follow(&self.topic).await);
        let after = self.since.as_ref().map_or(u64::MAX, |since| since.offset);
        let snapshot = self.read_once(after).await?;
        let Some(since) = self.since.take() else {
            // Live from the head: nothing to replay.
            self.epoch = snapshot.epoch;
            self.last = snapshot.head;
            return Ok(());
        };
        let same_epoch = snapshot.epoch.as_deref() == Some(&*since.epoch);
        if !same_epoch || since.offset > snapshot.head {
            // Another epoch: what it holds from its start, as a live
            // follower gets when it sees the epoch change.
            self.ready.push_back(BusEvent::Resumed(Resume::Reset));
            self.epoch.clone_from(&snapshot.epoch);
            self.last = 0;
            let from_start = self.read_once(0).await?;
            if from_start.epoch == self.epoch {
                self.take(from_start);
            } else {
                self.catch_up().await;
            }
            return Ok(());
        }
        self.epoch.clone_from(&snapshot.epoch);
        self.last = since.offset;
        let missed = missing_before(since.offset, &snapshot);
        self.ready.push_back(BusEvent::Resumed(if missed == 0 {
            Resume::Exact
        } else {
            Resume::Gap(missed)
        }));
        self.take(snapshot);
        Ok(())
    }

    async fn on_item(&mut self, offset: u64, epoch: &Arc<str>, item: Arc<RawValue>) {
        if self.epoch.as_deref() != Some(&**epoch) {
            if self.epoch.is_none() && self.last == 0 {
                // The topic's first epoch since this follower started.
                self.epoch = Some(epoch.clone());
            } else {
                // Another epoch than the one followed: Redis says which is
                // current (a catch-up reports a lost one as a restart), and
                // an item of a stale epoch still queued here is dropped.
                self.catch_up().await;
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
            self.catch_up().await;
            if self.epoch.as_deref() != Some(&**epoch) || offset <= self.last {
                return;
            }
            if offset > self.last + 1 {
                self.ready
                    .push_back(BusEvent::Lagged(offset - self.last - 1));
            }
        }
        self.last = offset;
        self.ready
            .push_back(BusEvent::Item(item, self.position(offset)));
    }

    /// Delivers what history holds after the last offset; what it no longer
    /// holds is a lag; another epoch is a restart.
    async fn catch_up(&mut self) {
        let snapshot = self.read(self.last).await;
        if snapshot.epoch != self.epoch {
            if self.epoch.is_some() {
                self.ready.push_back(BusEvent::Resumed(Resume::Reset));
            }
            self.epoch = snapshot.epoch;
            // Everything of the new epoch that is still kept.
            self.last = 0;
            let snapshot = self.read(0).await;
            if snapshot.epoch == self.epoch {
                self.take(snapshot);
            }
            return;
        }
        let missed = missing_before(self.last, &snapshot);
        if missed > 0 {
            self.ready.push_back(BusEvent::Lagged(missed));
        }
        self.take(snapshot);
    }

    /// Queues a snapshot's items after the last offset, and moves the last
    /// offset to the snapshot's head.
    fn take(&mut self, snapshot: Snapshot) {
        for (offset, item) in snapshot.items {
            if offset > self.last {
                self.last = offset;
                self.ready
                    .push_back(BusEvent::Item(item, self.position(offset)));
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

    /// Reads the topic after `after` once.
    async fn read_once(&self, after: u64) -> Result<Snapshot, BusError> {
        self.shared
            .read(&self.topic, after)
            .await
            .map_err(BusError::Unavailable)
    }

    /// Reads the topic after `after`, retrying while Redis is away: a live
    /// stream waits meanwhile (it cannot know what it missed) and recovers
    /// when Redis does.
    async fn read(&self, after: u64) -> Snapshot {
        let mut wait = Duration::from_millis(50);
        loop {
            match self.shared.read(&self.topic, after).await {
                Ok(snapshot) => return snapshot,
                Err(err) => {
                    tracing::debug!(topic = %self.topic, %err, "reading a topic's history failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        }
    }
}

/// Items after `after` that the snapshot can no longer give: those before
/// its first kept item (or up to its head when it keeps none).
fn missing_before(after: u64, snapshot: &Snapshot) -> u64 {
    let first_kept = snapshot
        .items
        .first()
        .map_or(snapshot.head + 1, |(offset, _)| *offset);
    first_kept.saturating_sub(after + 1)
}
