//! The receiving end's buffer for one subscription: filled by the I/O task,
//! drained by the `Subscription` stream. Items are bounded; when a new one
//! finds the buffer full the oldest is dropped and counted, so the reader
//! learns exactly how many it missed.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::task::{Context as TaskContext, Poll};

use futures_util::task::AtomicWaker;
use serde_json::value::RawValue;

use crate::protocol::ErrorObject;

#[derive(Debug)]
pub(crate) enum RawEvent {
    Item(Box<RawValue>),
    Lagged(u64),
    Closed(ErrorObject),
}

/// Events waiting for the consumer; items are bounded, and the oldest one is
/// dropped (and counted) when a new one finds the queue full.
#[derive(Debug)]
pub(crate) struct EventQueue {
    state: Mutex<QueueState>,
    waker: AtomicWaker,
    capacity: usize,
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
            waker: AtomicWaker::new(),
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn push(&self, event: RawEvent) {
        let mut state = self.state.lock().expect("queue lock");
        if state.closed {
            return;
        }
        match event {
            RawEvent::Item(item) => {
                if state.items >= self.capacity {
                    if let Some(at) = state
                        .events
                        .iter()
                        .position(|e| matches!(e, RawEvent::Item(_)))
                    {
                        state.events.remove(at);
                        state.items -= 1;
                        state.dropped += 1;
                    }
                }
                state.items += 1;
                state.events.push_back(RawEvent::Item(item));
            }
            RawEvent::Lagged(n) => match state.events.back_mut() {
                Some(RawEvent::Lagged(m)) => *m += n,
                _ => state.events.push_back(RawEvent::Lagged(n)),
            },
            RawEvent::Closed(reason) => {
                state.closed = true;
                state.events.push_back(RawEvent::Closed(reason));
            }
        }
        // Lag notices between items are not capped above; cap everything here
        // by folding the oldest events into the count of what was missed.
        while state.events.len() > 2 * self.capacity + 1 {
            match state.events.pop_front() {
                Some(RawEvent::Item(_)) => {
                    state.items -= 1;
                    state.dropped += 1;
                }
                Some(RawEvent::Lagged(n)) => state.dropped += n,
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
                if matches!(event, RawEvent::Item(_)) {
                    state.items -= 1;
                }
                Poll::Ready(Some(event))
            }
            None if state.closed => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.state.lock().expect("queue lock").events.len()
    }
}
