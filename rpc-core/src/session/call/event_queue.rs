//! The receiving end's buffer for one subscription: filled by the I/O task,
//! drained by the `Subscription` stream. Items are bounded; when a new one
//! finds the buffer full the oldest is dropped and counted, so the reader
//! learns exactly how many it missed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use futures_util::task::AtomicWaker;
use serde_json::value::RawValue;

use crate::protocol::{ErrorObject, Resume};

/// An item's position as the receiving end keeps it: the epoch is shared by
/// every item of the same epoch, so keeping it costs no allocation per item.
#[derive(Debug, Clone)]
pub(crate) struct At {
    pub(crate) epoch: Arc<str>,
    pub(crate) offset: u64,
}

#[derive(Debug)]
pub(crate) enum RawEvent {
    Item(Box<RawValue>, Option<At>),
    Resumed(Resume),
    /// Subscribed again on a new connection, without positions to resume from.
    Resubscribed,
    Lagged(u64),
    Closed(ErrorObject),
}

/// Events waiting for the consumer; items are bounded, and the oldest one is
/// dropped (and counted) when a new one finds the queue full.
#[derive(Debug)]
pub(crate) struct EventQueue {
    state: Mutex<QueueState>,
    /// The position of the last item delivered: where a resume carries on,
    /// and what tells a duplicate apart.
    last: Mutex<Option<At>>,
    waker: AtomicWaker,
    capacity: usize,
    /// Outlives its connection: a reconnecting client binds it again, so
    /// the end of one connection does not close it.
    durable: bool,
}

#[derive(Debug, Default)]
struct QueueState {
    events: VecDeque<RawEvent>,
    items: usize,
    dropped: u64,
    closed: bool,
}

impl EventQueue {
    pub(crate) fn new(capacity: usize) -> EventQueue {
        EventQueue {
            state: Mutex::new(QueueState::default()),
            last: Mutex::new(None),
            waker: AtomicWaker::new(),
            capacity: capacity.max(1),
            durable: false,
        }
    }

    /// A queue that survives its connection (see [`EventQueue::is_durable`]),
    /// carrying on after `since` when given.
    pub(crate) fn durable(capacity: usize, since: Option<At>) -> EventQueue {
        EventQueue {
            last: Mutex::new(since),
            durable: true,
            ..EventQueue::new(capacity)
        }
    }

    /// Whether the queue outlives its connection.
    pub(crate) fn is_durable(&self) -> bool {
        self.durable
    }

    /// Whether the stream has ended (nothing more will be queued).
    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().expect("queue lock").closed
    }

    pub(crate) fn push(&self, event: RawEvent) {
        let mut state = self.state.lock().expect("queue lock");
        if state.closed {
            return;
        }
        match event {
            RawEvent::Item(item, at) => {
                if state.items >= self.capacity {
                    if let Some(at) = state
                        .events
                        .iter()
                        .position(|e| matches!(e, RawEvent::Item(..)))
                    {
                        state.events.remove(at);
                        state.items -= 1;
                        state.dropped += 1;
                    }
                }
                state.items += 1;
                state.events.push_back(RawEvent::Item(item, at));
            }
            RawEvent::Lagged(n) => match state.events.back_mut() {
                Some(RawEvent::Lagged(m)) => *m += n,
                _ => state.events.push_back(RawEvent::Lagged(n)),
            },
            resumed @ RawEvent::Resumed(_) => state.events.push_back(resumed),
            RawEvent::Resubscribed => {
                if !matches!(state.events.back(), Some(RawEvent::Resubscribed)) {
                    state.events.push_back(RawEvent::Resubscribed);
                }
            }
            RawEvent::Closed(reason) => {
                state.closed = true;
                state.events.push_back(RawEvent::Closed(reason));
            }
        }
        // Lag notices between items are not capped above; cap everything here
        // by folding the oldest events into the count of what was missed.
        while state.events.len() > 2 * self.capacity + 1 {
            match state.events.pop_front() {
                Some(RawEvent::Item(..)) => {
                    state.items -= 1;
                    state.dropped += 1;
                }
                // A gap folded away still counts in the lag that replaces it.
                Some(RawEvent::Lagged(n) | RawEvent::Resumed(Resume::Gap(n))) => {
                    state.dropped += n;
                }
                Some(RawEvent::Resumed(_) | RawEvent::Resubscribed) => {}
                Some(closed @ RawEvent::Closed(_)) => {
                    state.events.push_front(closed);
                    break;
                }
                None => break,
            }
        }
        drop(state);
        self.waker.wake();
    }

    pub(crate) fn poll_next(&self, cx: &mut TaskContext<'_>) -> Poll<Option<RawEvent>> {
        self.waker.register(cx.waker());
        let mut state = self.state.lock().expect("queue lock");
        if state.dropped > 0 {
            let mut lagged = std::mem::take(&mut state.dropped);
            if let Some(RawEvent::Lagged(more)) = state.events.front() {
                lagged += more;
                state.events.pop_front();
            }
            return Poll::Ready(Some(RawEvent::Lagged(lagged)));
        }
        match state.events.pop_front() {
            Some(event) => {
                if matches!(event, RawEvent::Item(..)) {
                    state.items -= 1;
                }
                Poll::Ready(Some(event))
            }
            None if state.closed => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    /// Records an item's position as delivered and returns it, its epoch
    /// shared with the items before it; `None` for a duplicate (an offset
    /// at or before the last one of the same epoch), which is dropped.
    pub(crate) fn advance(&self, epoch: &str, offset: u64) -> Option<At> {
        let mut last = self.last.lock().expect("position lock");
        let epoch = match &*last {
            Some(known) if *known.epoch == *epoch => {
                if offset <= known.offset {
                    return None;
                }
                known.epoch.clone()
            }
            _ => Arc::from(epoch),
        };
        let at = At { epoch, offset };
        *last = Some(at.clone());
        Some(at)
    }

    /// The position of the last item delivered, if items carry positions.
    pub(crate) fn last_position(&self) -> Option<At> {
        self.last.lock().expect("position lock").clone()
    }

    pub(crate) fn len(&self) -> usize {
        self.state.lock().expect("queue lock").events.len()
    }
}

#[cfg(test)]
mod tests {
    use std::task::Context as TaskContext;

    use super::*;
    use crate::protocol::ErrorCode;

    fn item(n: u64) -> RawEvent {
        RawEvent::Item(RawValue::from_string(n.to_string()).unwrap(), None)
    }

    /// Everything readable now, as text.
    fn drain(queue: &EventQueue) -> Vec<String> {
        let mut cx = TaskContext::from_waker(futures_util::task::noop_waker_ref());
        let mut out = Vec::new();
        while let Poll::Ready(event) = queue.poll_next(&mut cx) {
            out.push(match event {
                Some(RawEvent::Item(raw, _)) => raw.get().to_owned(),
                Some(RawEvent::Resumed(resume)) => format!("{resume:?}"),
                Some(RawEvent::Resubscribed) => "resubscribed".into(),
                Some(RawEvent::Lagged(n)) => format!("lagged {n}"),
                Some(RawEvent::Closed(error)) => format!("closed {}", error.code),
                None => {
                    out.push("end".into());
                    break;
                }
            });
        }
        out
    }

    #[test]
    fn items_within_capacity_come_out_in_order() {
        let queue = EventQueue::new(3);
        for n in 0..3 {
            queue.push(item(n));
        }
        assert_eq!(drain(&queue), ["0", "1", "2"]);
    }

    #[test]
    fn overflow_drops_the_oldest_and_reports_the_exact_count_first() {
        let queue = EventQueue::new(2);
        for n in 0..5 {
            queue.push(item(n));
        }
        assert_eq!(drain(&queue), ["lagged 3", "3", "4"]);
    }

    #[test]
    fn lag_notices_merge_and_a_close_ends_the_stream() {
        let queue = EventQueue::new(4);
        queue.push(item(1));
        queue.push(RawEvent::Lagged(2));
        queue.push(RawEvent::Lagged(3));
        queue.push(RawEvent::Closed(ErrorObject::from_code(
            ErrorCode::SUBSCRIPTION_ENDED,
        )));
        queue.push(item(9));
        assert_eq!(drain(&queue), ["1", "lagged 5", "closed -32000", "end"]);
    }

    #[test]
    fn a_position_seen_before_is_a_duplicate() {
        let queue = EventQueue::new(4);
        assert_eq!(queue.advance("a", 1).unwrap().offset, 1);
        assert_eq!(queue.advance("a", 2).unwrap().offset, 2);
        assert!(queue.advance("a", 2).is_none());
        assert!(queue.advance("a", 1).is_none());
        // A new epoch starts over.
        assert_eq!(queue.advance("b", 1).unwrap().offset, 1);
        let last = queue.last_position().unwrap();
        assert_eq!((&*last.epoch, last.offset), ("b", 1));
    }

    #[test]
    fn resubscribed_notices_in_a_row_merge() {
        let queue = EventQueue::durable(4, None);
        queue.push(RawEvent::Resubscribed);
        queue.push(RawEvent::Resubscribed);
        queue.push(item(1));
        assert_eq!(drain(&queue), ["resubscribed", "1"]);
    }

    #[test]
    fn a_flood_of_lag_notices_stays_bounded() {
        let queue = EventQueue::new(2);
        for n in 0..1_000 {
            queue.push(item(n));
            queue.push(RawEvent::Lagged(1));
        }
        assert!(queue.len() <= 5, "{} events held", queue.len());
        let events = drain(&queue);
        let missed: u64 = events
            .iter()
            .filter_map(|e| e.strip_prefix("lagged "))
            .map(|n| n.parse::<u64>().unwrap())
            .sum();
        let items = events.iter().filter(|e| !e.starts_with("lagged")).count() as u64;
        // Every item and every notice is accounted for: read or counted.
        assert_eq!(missed + items, 2_000);
    }
}
