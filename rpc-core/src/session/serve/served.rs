//! Subscriptions this end serves, by id, up to the connection's limit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;

use super::sink::SinkShared;
use super::sink_error::AcceptError;
use crate::telemetry;

/// Subscriptions this end serves, by id.
#[derive(Debug)]
pub(crate) struct SubscriptionTable {
    sinks: Mutex<HashMap<Box<str>, Arc<SinkShared>>>,
    next: AtomicU64,
    /// The first id given out (ids below it were never this table's).
    first: AtomicU64,
    limit: usize,
}

impl SubscriptionTable {
    pub(crate) fn new(limit: usize) -> SubscriptionTable {
        SubscriptionTable {
            sinks: Mutex::default(),
            next: AtomicU64::new(1),
            first: AtomicU64::new(1),
            limit,
        }
    }

    /// Numbers the ids this table gives out from `first` on (ids of
    /// streams that each hold one subscription stay apart).
    #[cfg(feature = "server")]
    pub(crate) fn number_from(&self, first: u64) {
        let first = first.max(1);
        self.first.store(first, Ordering::Relaxed);
        self.next.store(first, Ordering::Relaxed);
    }

    /// `Err` when the table is at its limit.
    pub(crate) fn check_room(&self) -> Result<(), AcceptError> {
        if self.len() >= self.limit {
            return Err(AcceptError::TooMany(self.limit));
        }
        Ok(())
    }

    /// A fresh id as a JSON string, if there is room for one more.
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
        telemetry::subscription_started();
        Ok(())
    }

    /// Removes the subscription `id` if it is of the kind `notification`.
    pub(crate) fn remove(&self, id: &str, notification: &str) -> Option<Arc<SinkShared>> {
        let mut sinks = self.sinks.lock().expect("subscriptions lock");
        if sinks
            .get(id)
            .is_some_and(|sink| &*sink.notification == notification)
        {
            telemetry::subscription_ended();
            sinks.remove(id)
        } else {
            None
        }
    }

    /// Whether `id` (JSON text) was given out on this connection, live or
    /// ended since.
    pub(crate) fn was_issued(&self, id: &str) -> bool {
        id.strip_prefix('"')
            .and_then(|id| id.strip_suffix('"'))
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .is_some_and(|n| {
                n >= self.first.load(Ordering::Relaxed) && n < self.next.load(Ordering::Relaxed)
            })
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
            telemetry::subscription_ended();
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
