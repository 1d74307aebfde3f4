//! Feeding a subscription straight from the node's feed of its topic: it
//! joins the feed's audience, and goes live once it stands exactly where
//! the feed does. Until then it replays from the topic's history in Redis.

use std::sync::Arc;

use super::feed::{self, lock, FeedHandle};
use super::follower::missing_before;
use super::{RedisBus, Shared};
use crate::bus::subscriber::{Attach, Attaching, DirectBus, Subscriber};
use crate::bus::{BusError, Position, Resume};

impl DirectBus for RedisBus {
    /// The first attach answers within the bus's timeout, as
    /// `subscribe_from` does; a subscriber catching up later retries while
    /// Redis is away (a live stream waits the same way).
    fn attach<'a>(
        &'a self,
        topic: &'a str,
        subscriber: &'a Arc<Subscriber>,
        since: Option<&'a Position>,
    ) -> Attaching<'a> {
        let shared = &self.shared;
        Box::pin(async move {
            if subscriber.is_placed() {
                return attach(shared, topic, subscriber, since, false).await;
            }
            let bound = shared.timeout;
            tokio::time::timeout(bound, attach(shared, topic, subscriber, since, true))
                .await
                .map_err(|_| {
                    BusError::Unavailable(format!("no answer from Redis within {bound:?}"))
                })?
        })
    }

    fn detach(&self, topic: &str, subscriber: &Arc<Subscriber>) {
        let feeds = self.shared.feeds.lock().expect("feeds lock");
        if let Some(feed) = feeds.get(topic) {
            lock(&feed.audience).subscribers.remove(subscriber);
        }
    }
}

async fn attach(
    shared: &Arc<Shared>,
    topic: &str,
    subscriber: &Arc<Subscriber>,
    since: Option<&Position>,
    once: bool,
) -> Result<Attach, BusError> {
    let feed = feed::feed_of(shared, topic, |feed: &FeedHandle| {
        lock(&feed.audience).subscribers.add(subscriber);
        feed.clone()
    })
    .await?;
    let Some(since) = since else {
        if once {
            // Redis must answer even when the node's feed needs nothing
            // from it: a subscriber is refused, not left waiting on a bus
            // that is down, as a stream is (`follower.rs`).
            shared
                .read(topic, u64::MAX)
                .await
                .map_err(BusError::Unavailable)?;
        }
        subscriber.go_live(lock(&feed.audience).last);
        return Ok(Attach::Live);
    };
    {
        let audience = lock(&feed.audience);
        if audience.stands_at(since) {
            subscriber.resumed(Resume::Exact);
            subscriber.go_live(audience.last);
            return Ok(Attach::Live);
        }
        subscriber.hold();
        let same_epoch = audience.epoch.as_deref() == Some(&*since.epoch);
        if same_epoch && since.offset > audience.last {
            // Redis is ahead of this node's feed: wait for the feed.
            return Ok(Attach::Behind {
                items: Vec::new(),
                after: since.clone(),
            });
        }
    }
    let (items, after) = replay(shared, topic, subscriber, since, once).await?;
    if items.is_empty() {
        let audience = lock(&feed.audience);
        if audience.stands_at(&after) {
            subscriber.go_live(audience.last);
            return Ok(Attach::Live);
        }
    }
    Ok(Attach::Behind { items, after })
}

/// What the topic's history holds after `since`, and where that leaves
/// the subscriber; says how the resume went first.
async fn replay(
    shared: &Shared,
    topic: &str,
    subscriber: &Subscriber,
    since: &Position,
    once: bool,
) -> Result<(Vec<(Arc<serde_json::value::RawValue>, Position)>, Position), BusError> {
    let read = |after| async move {
        if once {
            return shared
                .read(topic, after)
                .await
                .map_err(BusError::Unavailable);
        }
        feed::read_while(shared, topic, after, || !subscriber.is_closed())
            .await
            .ok_or_else(|| BusError::Unavailable("the subscription ended".into()))
    };
    let snapshot = read(since.offset).await?;
    let same_epoch = snapshot.epoch.as_deref() == Some(&*since.epoch);
    let (resume, snapshot) = if !same_epoch || since.offset > snapshot.head {
        // Another epoch: what it holds from its start.
        let from_start = read(0).await?;
        (Resume::Reset, from_start)
    } else {
        let missed = missing_before(since.offset, &snapshot);
        let resume = if missed == 0 {
            Resume::Exact
        } else {
            Resume::Gap(missed)
        };
        (resume, snapshot)
    };
    subscriber.resumed(resume);
    let epoch: Arc<str> = snapshot.epoch.clone().unwrap_or_else(|| Arc::from(""));
    let after = if resume == Resume::Reset {
        0
    } else {
        since.offset
    };
    let items: Vec<_> = snapshot
        .items
        .into_iter()
        .filter(|(offset, _)| *offset > after)
        .map(|(offset, item)| {
            let position = Position {
                epoch: epoch.clone(),
                offset,
            };
            (item, position)
        })
        .collect();
    let last = items.last().map_or(0, |(_, position)| position.offset);
    let after = Position {
        epoch,
        offset: last.max(snapshot.head),
    };
    Ok((items, after))
}
