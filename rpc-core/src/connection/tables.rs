//! The connection's three lookup tables: outgoing calls awaiting answers,
//! subscriptions this end serves, and subscriptions this end receives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::{CallError, Closed};
use crate::subscription::{AcceptError, EventQueue, RawEvent, SinkShared};
use crate::ErrorObject;

/// Names one received subscription: its id and how to end it.
#[derive(Debug, Clone)]
pub(crate) struct ClientSubscriptionKey {
    pub(crate) id: Box<RawValue>,
    pub(crate) unsubscribe: Arc<str>,
}

pub(crate) type CallReply = Result<Box<RawValue>, CallError>;
pub(crate) type SubscribeReply = Result<(ClientSubscriptionKey, Arc<EventQueue>), CallError>;

/// Who waits for the answer to an outgoing call.
#[derive(Debug)]
pub(crate) enum Waiter {
    Call(oneshot::Sender<CallReply>),
    Subscribe {
        reply: oneshot::Sender<SubscribeReply>,
        unsubscribe: Arc<str>,
        buffer: usize,
    },
    /// Nobody: the answer is read and dropped (background unsubscribe).
    Discard,
}

/// Outgoing calls by id.
#[derive(Debug, Default)]
pub(crate) struct PendingCalls {
    waiters: Mutex<HashMap<u64, Waiter>>,
}

impl PendingCalls {
    pub(crate) fn insert(&self, id: u64, waiter: Waiter) {
        self.waiters
            .lock()
            .expect("pending lock")
            .insert(id, waiter);
    }

    pub(crate) fn remove(&self, id: u64) -> Option<Waiter> {
        self.waiters.lock().expect("pending lock").remove(&id)
    }

    pub(crate) fn len(&self) -> usize {
        self.waiters.lock().expect("pending lock").len()
    }

    /// Fails every waiter at once.
    pub(crate) fn fail_all(&self, closed: &Closed) {
        let waiters: Vec<Waiter> = self
            .waiters
            .lock()
            .expect("pending lock")
            .drain()
            .map(|(_, w)| w)
            .collect();
        for waiter in waiters {
            match waiter {
                Waiter::Call(reply) => drop(reply.send(Err(CallError::Closed(closed.clone())))),
                Waiter::Subscribe { reply, .. } => {
                    drop(reply.send(Err(CallError::Closed(closed.clone()))));
                }
                Waiter::Discard => {}
            }
        }
    }
}

/// Subscriptions this end serves, by id.
#[derive(Debug)]
pub(crate) struct SubscriptionTable {
    sinks: Mutex<HashMap<Box<str>, Arc<SinkShared>>>,
    next: AtomicU64,
    limit: usize,
}

impl SubscriptionTable {
    pub(crate) fn new(limit: usize) -> SubscriptionTable {
        SubscriptionTable {
            sinks: Mutex::default(),
            next: AtomicU64::new(1),
            limit,
        }
    }

    /// A fresh id as a JSON string, if there is room for one more.
    /// `Err` when the table is at its limit.
    pub(crate) fn check_room(&self) -> Result<(), AcceptError> {
        if self.len() >= self.limit {
            return Err(AcceptError::TooMany(self.limit));
        }
        Ok(())
    }

    pub(crate) fn next_id(&self) -> Result<Box<RawValue>, AcceptError> {
        self.check_room()?;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        Ok(RawValue::from_string(format!("\"{n:x}\"")).expect("valid JSON"))
    }

    pub(crate) fn insert(&self, sink: Arc<SinkShared>) -> Result<(), AcceptError> {
        let mut sinks = self.sinks.lock().expect("subscriptions lock");
        if sinks.len() >= self.limit {
            return Err(AcceptError::TooMany(self.limit));
        }
        sinks.insert(sink.id.get().into(), sink);
        Ok(())
    }

    /// Removes the subscription `id` if it is of the kind `notification`.
    pub(crate) fn remove(&self, id: &str, notification: &str) -> Option<Arc<SinkShared>> {
        let mut sinks = self.sinks.lock().expect("subscriptions lock");
        if sinks
            .get(id)
            .is_some_and(|sink| &*sink.notification == notification)
        {
            sinks.remove(id)
        } else {
            None
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sinks.lock().expect("subscriptions lock").len()
    }

    pub(crate) fn close_all(&self) {
        let sinks: Vec<_> = self
            .sinks
            .lock()
            .expect("subscriptions lock")
            .drain()
            .map(|(_, s)| s)
            .collect();
        for sink in sinks {
            sink.finish_quietly();
        }
    }

    /// The most items buffered by any one subscription right now.
    pub(crate) fn max_buffered(&self) -> usize {
        self.sinks
            .lock()
            .expect("subscriptions lock")
            .values()
            .map(|s| s.buffered())
            .max()
            .unwrap_or(0)
    }
}

/// Subscriptions this end receives, by the id's JSON text.
#[derive(Debug, Default)]
pub(crate) struct ClientSubscriptions {
    queues: Mutex<HashMap<Box<str>, Arc<EventQueue>>>,
}

impl ClientSubscriptions {
    pub(crate) fn insert(&self, id: &RawValue, queue: Arc<EventQueue>) {
        self.queues
            .lock()
            .expect("client subscriptions lock")
            .insert(id.get().into(), queue);
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<EventQueue>> {
        self.queues
            .lock()
            .expect("client subscriptions lock")
            .remove(id)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queues
            .lock()
            .expect("client subscriptions lock")
            .is_empty()
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<EventQueue>> {
        self.queues
            .lock()
            .expect("client subscriptions lock")
            .get(id)
            .cloned()
    }

    pub(crate) fn close_all(&self, closed: &Closed) {
        let queues: Vec<_> = self
            .queues
            .lock()
            .expect("client subscriptions lock")
            .drain()
            .map(|(_, q)| q)
            .collect();
        for queue in queues {
            queue.push(RawEvent::Closed(ErrorObject::new(
                crate::ErrorCode::ServerError(-32003),
                closed.to_string(),
            )));
        }
    }
}
