//! Delivery without a task per subscription: a bus that can write each
//! published item straight into its subscribers' sinks keeps them as
//! [`Subscriber`]s and offers every item to each, as it publishes. A
//! subscriber whose buffer is full is passed by until its own task has
//! caught up from the topic's history; only then does it take live items
//! again, so nothing is lost or doubled, and nobody holds the publisher up.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;
use tokio::sync::Notify;

use super::BusError;
use crate::protocol::{Position, Resume};
use crate::session::serve::{Offer, SinkShared};

/// One subscription as a bus that delivers directly holds it.
#[derive(Debug)]
pub struct Subscriber {
    pub(super) sink: Arc<SinkShared>,
    /// The subscription has not been told how its resume went yet.
    resume_untold: AtomicBool,
    /// Passed by on publish: its task is replaying what it missed.
    behind: AtomicBool,
    /// The offset of the newest item it was given.
    last: AtomicU64,
    /// Where it fell behind: the position after which it catches up.
    fell_behind_at: Mutex<Option<Position>>,
    fell_behind: Notify,
    /// Its place in the topic's list, for removal without a search.
    pub(super) slot: AtomicUsize,
}

/// What a bus answers a subscriber that asks to be fed.
#[derive(Debug)]
pub enum Attach {
    /// Nothing after its position is left: it now gets every item as it
    /// is published.
    Live,
    /// `items` come first (oldest first); then it asks again after
    /// `after`. No items means the bus's live feed has not reached `after`
    /// yet: it asks again shortly.
    Behind {
        items: Vec<(Arc<RawValue>, Position)>,
        after: Position,
    },
}

/// The subscribers a bus writes into, each knowing its place in the list.
#[derive(Debug, Default)]
pub(super) struct Audience(Vec<Arc<Subscriber>>);

impl Audience {
    /// Adds `subscriber`, unless it is here already.
    pub(super) fn add(&mut self, subscriber: &Arc<Subscriber>) {
        if subscriber.slot.load(Ordering::Relaxed) == usize::MAX {
            subscriber.slot.store(self.0.len(), Ordering::Relaxed);
            self.0.push(subscriber.clone());
        }
    }

    pub(super) fn remove(&mut self, subscriber: &Arc<Subscriber>) {
        let slot = subscriber.slot.load(Ordering::Relaxed);
        if self
            .0
            .get(slot)
            .is_some_and(|held| Arc::ptr_eq(held, subscriber))
        {
            self.remove_at(slot);
        }
    }

    fn remove_at(&mut self, slot: usize) {
        let gone = self.0.swap_remove(slot);
        gone.slot.store(usize::MAX, Ordering::Relaxed);
        if let Some(moved) = self.0.get(slot) {
            moved.slot.store(slot, Ordering::Relaxed);
        }
    }

    /// Hands `item` to every subscriber, dropping those whose subscriptions
    /// have ended.
    pub(super) fn deliver(&mut self, item: &RawValue, position: &Position) {
        self.each(|subscriber| subscriber.deliver(item, position));
    }

    /// Runs `f` on every subscriber, dropping those it answers false for.
    pub(super) fn each(&mut self, mut f: impl FnMut(&Subscriber) -> bool) {
        let mut slot = 0;
        while slot < self.0.len() {
            if f(&self.0[slot]) {
                slot += 1;
            } else {
                self.remove_at(slot);
            }
        }
    }

    /// Drops ended subscriptions; answers whether anyone is left.
    pub(super) fn is_empty(&mut self) -> bool {
        self.each(|subscriber| !subscriber.sink.token.is_cancelled());
        self.0.is_empty()
    }
}

/// A future answering [`DirectBus::attach`].
pub(crate) type Attaching<'a> = Pin<Box<dyn Future<Output = Result<Attach, BusError>> + Send + 'a>>;

/// A bus that writes published items straight into subscribers' sinks.
pub trait DirectBus: Send + Sync {
    /// Feeds `subscriber` the items of `topic` after `since` (or from now
    /// on). Under the same lock as its publishes, the bus tells the
    /// subscriber how the resume went ([`Subscriber::resumed`]) and, when
    /// nothing after `since` is left, makes it live.
    fn attach<'a>(
        &'a self,
        topic: &'a str,
        subscriber: &'a Arc<Subscriber>,
        since: Option<&'a Position>,
    ) -> Attaching<'a>;

    /// Stops feeding `subscriber` (its subscription ended).
    fn detach(&self, topic: &str, subscriber: &Arc<Subscriber>);
}

impl Subscriber {
    pub(super) fn new(sink: Arc<SinkShared>, resuming: bool) -> Subscriber {
        Subscriber {
            sink,
            resume_untold: AtomicBool::new(resuming),
            behind: AtomicBool::new(true),
            last: AtomicU64::new(0),
            fell_behind_at: Mutex::new(None),
            fell_behind: Notify::new(),
            slot: AtomicUsize::new(usize::MAX),
        }
    }

    /// Offers one published item without waiting. False once the
    /// subscription has ended: the bus then drops it from its list.
    pub fn deliver(&self, item: &RawValue, position: &Position) -> bool {
        if self.behind.load(Ordering::Relaxed) {
            return !self.sink.token.is_cancelled();
        }
        match self.sink.offer_at(item, position) {
            Offer::Taken => {
                self.last.store(position.offset, Ordering::Relaxed);
                true
            }
            Offer::Full(_) => {
                let last = Position {
                    epoch: position.epoch.clone(),
                    offset: self.last.load(Ordering::Relaxed),
                };
                *self.fell_behind_at.lock().expect("subscriber lock") = Some(last);
                self.behind.store(true, Ordering::Relaxed);
                self.fell_behind.notify_one();
                true
            }
            Offer::Closed => false,
        }
    }

    /// How picking up after a position went: the first time, the notice a
    /// resuming client waits for; after falling behind, a lag notice for
    /// what history no longer held.
    /// Whether a bus holds it in an audience.
    pub(super) fn is_placed(&self) -> bool {
        self.slot.load(Ordering::Relaxed) != usize::MAX
    }

    /// A live subscriber is told that `missed` items are gone for good (one
    /// that is catching up finds that out from history itself).
    pub(super) fn missed(&self, missed: u64) -> bool {
        if !self.behind.load(Ordering::Relaxed) {
            self.sink.add_lagged(missed);
        }
        !self.sink.token.is_cancelled()
    }

    /// A live subscriber is told its topic began again.
    pub(super) fn restarted(&self) -> bool {
        if !self.behind.load(Ordering::Relaxed) {
            self.sink.resumed(Resume::Reset);
        }
        !self.sink.token.is_cancelled()
    }

    pub(super) fn resumed(&self, resume: Resume) {
        if self.resume_untold.swap(false, Ordering::Relaxed) {
            self.sink.resumed(resume);
            return;
        }
        match resume {
            Resume::Exact => {}
            Resume::Gap(missed) => self.sink.add_lagged(missed),
            Resume::Reset => self.sink.resumed(Resume::Reset),
        }
    }

    /// Whether its subscription has ended.
    pub(super) fn is_closed(&self) -> bool {
        self.sink.token.is_cancelled()
    }

    /// Takes live items from now on; `last` is the newest published one.
    pub(super) fn go_live(&self, last: u64) {
        self.last.store(last, Ordering::Relaxed);
        self.behind.store(false, Ordering::Relaxed);
    }

    /// Marks it as catching up, so publishes pass it by.
    pub(super) fn hold(&self) {
        self.behind.store(true, Ordering::Relaxed);
    }

    /// Waits until it fell behind (and answers the position after which it
    /// catches up), or until its subscription ended (`None`).
    pub(super) async fn fallen_behind(&self) -> Option<Position> {
        loop {
            tokio::select! {
                () = self.fell_behind.notified() => {
                    let at = self.fell_behind_at.lock().expect("subscriber lock").take();
                    if at.is_some() {
                        return at;
                    }
                }
                () = self.sink.token.cancelled() => return None,
            }
        }
    }
}
