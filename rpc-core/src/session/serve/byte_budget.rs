//! The bytes one connection's served subscriptions may hold in their
//! buffers together. Each sink's buffer is bounded by its item count; this
//! bounds their sum, so a peer that opens every subscription it may and
//! stops reading holds a chosen amount of memory, not count × count.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes buffered by all of a connection's sinks, against its limit.
#[derive(Debug)]
pub(crate) struct ByteBudget {
    used: AtomicUsize,
    limit: usize,
}

impl ByteBudget {
    pub(crate) fn new(limit: usize) -> ByteBudget {
        ByteBudget {
            used: AtomicUsize::new(0),
            limit,
        }
    }

    /// Whether the connection's sinks hold their limit or more.
    pub(crate) fn is_spent(&self) -> bool {
        self.used.load(Ordering::Relaxed) >= self.limit
    }

    pub(crate) fn take(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes held right now.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
}
