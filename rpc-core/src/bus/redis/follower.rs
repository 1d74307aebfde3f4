//! One subscriber's view of a Redis topic. It starts from a snapshot (the
//! replay after its position, or the topic's head), then reads what the
//! node's feed of the topic checked (`feed.rs`), keeping what comes after
//! its own start. Only a subscriber that falls behind the node's feed reads
//! history for itself.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::broadcast;

use super::feed::{self, Checked};
use super::scripts::Snapshot;
use super::Shared;
use crate::bus::{BusError, BusEvent, Position, Resume, TopicStream};

struct Follower {
    shared: Arc<Shared>,
    topic: String,
    receiver: broadcast::Receiver<Checked>,
    /// The epoch followed, once known.
    epoch: Option<Arc<str>>,
    /// The last offset delivered or accounted for in that epoch.
    last: u64,
    ready: VecDeque<BusEvent>,
}

/// The stream `Bus::subscribe_from` gives for a Redis topic, once the
/// node's feed of the topic runs and the subscriber knows where to start;
/// an error when Redis does not answer within the bus's timeout.
pub(super) async fn stream(
    shared: Arc<Shared>,
    topic: String,
    since: Option<Position>,
) -> Result<TopicStream, BusError> {
    let bound = shared.timeout;
    let started = tokio::time::timeout(bound, start(shared, topic, since))
        .await
        .map_err(|_| BusError::Unavailable(format!("no answer from Redis within {bound:?}")))??;
    Ok(Box::pin(futures_util::stream::unfold(
        started,
        |mut follower| async move {
            let event = follower.next().await?;
            Some((event, follower))
        },
    )))
}

/// Joins the node's feed first, then reads where to start, so nothing
/// published in between is missed. Tries once: the caller bounds it.
async fn start(
    shared: Arc<Shared>,
    topic: String,
    since: Option<Position>,
) -> Result<Follower, BusError> {
    let receiver = feed::subscribe(&shared, &topic).await?;
    let mut follower = Follower {
        shared,
        topic,
        receiver,
        epoch: None,
        last: 0,
        ready: VecDeque::new(),
    };
    let after = since.as_ref().map_or(u64::MAX, |since| since.offset);
    let snapshot = follower.read_once(after).await?;
    let Some(since) = since else {
        // Live from the head: nothing to replay.
        follower.epoch = snapshot.epoch;
        follower.last = snapshot.head;
        return Ok(follower);
    };
    let same_epoch = snapshot.epoch.as_deref() == Some(&*since.epoch);
    if !same_epoch || since.offset > snapshot.head {
        // Another epoch: what it holds from its start, as a live follower
        // gets when it sees the epoch change.
        follower.ready.push_back(BusEvent::Resumed(Resume::Reset));
        follower.epoch.clone_from(&snapshot.epoch);
        let from_start = follower.read_once(0).await?;
        if from_start.epoch == follower.epoch {
            follower.take(from_start);
        }
        return Ok(follower);
    }
    follower.epoch.clone_from(&snapshot.epoch);
    follower.last = since.offset;
    let missed = missing_before(since.offset, &snapshot);
    follower.ready.push_back(BusEvent::Resumed(if missed == 0 {
        Resume::Exact
    } else {
        Resume::Gap(missed)
    }));
    follower.take(snapshot);
    Ok(follower)
}

impl Follower {
    async fn next(&mut self) -> Option<BusEvent> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            match self.receiver.recv().await {
                Ok(Checked::Item(item, position)) => self.on_item(item, position),
                Ok(Checked::Lost { epoch, from, to }) => {
                    if self.epoch.as_deref() == Some(&*epoch) && to > self.last {
                        let missed = to - self.last.max(from - 1);
                        self.last = to;
                        self.ready.push_back(BusEvent::Lagged(missed));
                    }
                }
                Ok(Checked::Reset(epoch)) => {
                    if self.epoch != epoch {
                        if self.epoch.is_some() {
                            self.ready.push_back(BusEvent::Resumed(Resume::Reset));
                        }
                        self.epoch = epoch;
                        self.last = 0;
                    }
                }
                // Behind the node's feed: read the rest from history.
                Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    fn on_item(&mut self, item: Arc<serde_json::value::RawValue>, position: Position) {
        if self.epoch.is_none() && self.last == 0 && position.offset == 1 {
            // The topic had no epoch when this subscriber started: its
            // next epoch begins at 1. An item further on is of an epoch
            // lost before that, still on its way through the feed.
            self.epoch = Some(position.epoch.clone());
        }
        // An item of another epoch is stale: the feed says `Reset` first.
        if self.epoch.as_deref() == Some(&*position.epoch) && position.offset > self.last {
            self.last = position.offset;
            self.ready.push_back(BusEvent::Item(item, position));
        }
    }

    /// Delivers what history holds after the last offset; what it no longer
    /// holds is a lag; another epoch is a restart, then its items.
    async fn catch_up(&mut self) {
        // Its owner reads it: wanted until dropped, which ends this future.
        let Some(snapshot) = feed::read_while(&self.shared, &self.topic, self.last, || true).await
        else {
            return;
        };
        if snapshot.epoch != self.epoch {
            if self.epoch.is_some() {
                self.ready.push_back(BusEvent::Resumed(Resume::Reset));
            }
            self.epoch = snapshot.epoch;
            self.last = 0;
            if let Some(snapshot) = feed::read_while(&self.shared, &self.topic, 0, || true).await {
                if snapshot.epoch == self.epoch {
                    self.take(snapshot);
                }
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

    async fn read_once(&self, after: u64) -> Result<Snapshot, BusError> {
        self.shared
            .read(&self.topic, after)
            .await
            .map_err(BusError::Unavailable)
    }
}

/// Items after `after` that the snapshot can no longer give: those before
/// its first kept item (or up to its head when it keeps none).
pub(super) fn missing_before(after: u64, snapshot: &Snapshot) -> u64 {
    let first_kept = snapshot
        .items
        .first()
        .map_or(snapshot.head + 1, |(offset, _)| *offset);
    first_kept.saturating_sub(after + 1)
}
