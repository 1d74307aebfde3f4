//! Outgoing calls awaiting their answers, by id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::event_queue::EventQueue;
use super::received::ClientSubscriptionKey;
use crate::session::{CallError, Closed};

pub(crate) type CallReply = Result<Box<RawValue>, CallError>;
pub(crate) type SubscribeReply = Result<ClientSubscriptionKey, CallError>;

/// Who waits for the answer to an outgoing call.
#[derive(Debug)]
pub(crate) enum Waiter {
    Call(oneshot::Sender<CallReply>),
    /// A subscribe call: its items go to `queue` once it is answered.
    Subscribe {
        reply: oneshot::Sender<SubscribeReply>,
        unsubscribe: Arc<str>,
        queue: Arc<EventQueue>,
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

    /// Fails every waiter at once: their calls were on their way, so they
    /// may or may not have run.
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
                Waiter::Call(reply) => {
                    drop(reply.send(Err(CallError::Disconnected(closed.clone()))));
                }
                Waiter::Subscribe { reply, .. } => {
                    drop(reply.send(Err(CallError::Disconnected(closed.clone()))));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_find_their_waiter_once() {
        let table = PendingCalls::default();
        let (reply, mut answer) = oneshot::channel();
        table.insert(7, Waiter::Call(reply));
        assert_eq!(table.len(), 1);
        let Some(Waiter::Call(reply)) = table.remove(7) else {
            panic!("no waiter under 7")
        };
        assert!(table.remove(7).is_none(), "answered twice");
        reply
            .send(Ok(RawValue::from_string("1".into()).unwrap()))
            .unwrap();
        assert_eq!(answer.try_recv().unwrap().unwrap().get(), "1");
    }

    #[test]
    fn a_closed_connection_fails_every_waiter() {
        let table = PendingCalls::default();
        let (call, mut call_answer) = oneshot::channel();
        let (subscribe, mut subscribe_answer) = oneshot::channel();
        table.insert(1, Waiter::Call(call));
        table.insert(
            2,
            Waiter::Subscribe {
                reply: subscribe,
                unsubscribe: "u".into(),
                queue: Arc::new(EventQueue::new(1)),
            },
        );
        table.insert(3, Waiter::Discard);
        table.fail_all(&Closed::new(Some(1001), "going away"));
        assert_eq!(table.len(), 0);
        assert!(matches!(
            call_answer.try_recv(),
            Ok(Err(CallError::Disconnected(_)))
        ));
        assert!(matches!(
            subscribe_answer.try_recv(),
            Ok(Err(CallError::Disconnected(_)))
        ));
    }

    #[test]
    fn a_call_that_stops_waiting_leaves_no_entry() {
        let table = PendingCalls::default();
        let (reply, _answer) = oneshot::channel();
        table.insert(5, Waiter::Call(reply));
        drop(Forget {
            pending: &table,
            id: 5,
        });
        assert_eq!(table.len(), 0);
    }
}
