//! Subscriptions this end receives: their queues by id, filled by the I/O task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;

use super::event_queue::{EventQueue, RawEvent};
use crate::protocol::{ErrorCode, ErrorObject};
use crate::session::Closed;

/// Names one received subscription: its id and how to end it.
#[derive(Debug, Clone)]
pub(crate) struct ClientSubscriptionKey {
    pub(crate) id: Box<RawValue>,
    pub(crate) unsubscribe: Arc<str>,
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
        // A durable queue waits for its reconnecting client to bind it again.
        for queue in queues.into_iter().filter(|queue| !queue.is_durable()) {
            queue.push(RawEvent::Closed(ErrorObject::new(
                ErrorCode::CONNECTION_CLOSED,
                closed.to_string(),
            )));
        }
    }
}
