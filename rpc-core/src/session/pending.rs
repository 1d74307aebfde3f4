//! Outgoing calls awaiting their answers, by id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::event_queue::EventQueue;
use super::received::ClientSubscriptionKey;
use super::{CallError, Closed};

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

/// Drops a call's waiter when the call ends in any way, including when the
/// caller stops waiting (a dropped future), so the table cannot fill up.
pub(crate) struct Forget<'a> {
    pub(crate) pending: &'a PendingCalls,
    pub(crate) id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.pending.remove(self.id);
    }
}
