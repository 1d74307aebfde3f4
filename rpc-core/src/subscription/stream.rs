//! The client side of a subscription: a bounded event queue filled by the
//! connection's I/O task, read as a typed `Stream`.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use futures_util::task::AtomicWaker;
use futures_util::Stream;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::connection::{ClientSubscriptionKey, Session};
use crate::ErrorObject;

/// One event of a subscription, as the client sees it.
#[derive(Debug)]
#[non_exhaustive]
pub enum SubscriptionEvent<T> {
    /// The next item.
    Item(T),
    /// This many items were dropped here, because a buffer overflowed (the
    /// server's or this client's).
    Lagged(u64),
    /// An item arrived that does not decode as `T`.
    Malformed(serde_json::Error),
    /// The subscription ended; the stream yields nothing after this.
    Closed(ErrorObject),
}

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

    fn poll_next(&self, cx: &mut TaskContext<'_>) -> Poll<Option<RawEvent>> {
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

/// A live subscription: a `Stream` of [`SubscriptionEvent`]s.
///
/// Dropping it unsubscribes (the unsubscribe call is sent without waiting
/// for its answer); [`Subscription::unsubscribe`] does the same and waits.
#[derive(Debug)]
pub struct Subscription<T> {
    queue: Arc<EventQueue>,
    key: Option<ClientSubscriptionKey>,
    session: Arc<Session>,
    done: bool,
    item: PhantomData<fn() -> T>,
}

impl<T> Subscription<T> {
    pub(crate) fn new(
        queue: Arc<EventQueue>,
        key: ClientSubscriptionKey,
        session: Arc<Session>,
    ) -> Self {
        Subscription {
            queue,
            key: Some(key),
            session,
            done: false,
            item: PhantomData,
        }
    }

    /// The id the server gave this subscription, as JSON text.
    pub fn id(&self) -> &str {
        self.key.as_ref().map_or("", |key| key.id.get())
    }

    /// Events received and not yet read.
    pub fn buffered(&self) -> usize {
        self.queue.len()
    }

    /// Ends the subscription and waits for the server to confirm.
    ///
    /// # Errors
    ///
    /// The server's error (for example an unknown id), or a connection error.
    pub async fn unsubscribe(mut self) -> Result<(), crate::CallError> {
        match self.key.take() {
            Some(key) => self.session.unsubscribe(key).await,
            None => Ok(()),
        }
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.session.unsubscribe_in_background(&key);
        }
    }
}

impl<T: DeserializeOwned> Stream for Subscription<T> {
    type Item = SubscriptionEvent<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let event = match this.queue.poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => {
                this.done = true;
                return Poll::Ready(None);
            }
            Poll::Ready(Some(event)) => event,
        };
        Poll::Ready(Some(match event {
            RawEvent::Item(raw) => match serde_json::from_str(raw.get()) {
                Ok(item) => SubscriptionEvent::Item(item),
                Err(err) => SubscriptionEvent::Malformed(err),
            },
            RawEvent::Lagged(n) => SubscriptionEvent::Lagged(n),
            RawEvent::Closed(reason) => {
                this.key = None;
                SubscriptionEvent::Closed(reason)
            }
        }))
    }
}
