//! The receiving end of a subscription: a typed `Stream` over its event queue.

use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures_util::Stream;
use serde::de::DeserializeOwned;

use crate::protocol::{ErrorCode, ErrorObject, Position, Resume};
use crate::session::call::{At, EventQueue, RawEvent};
use crate::session::link::HeldSubscription;

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
    /// A resumed subscription picked up exactly where it left off: every
    /// item after its position follows, once.
    Resumed,
    /// A resumed subscription lost this many items for good (history no
    /// longer held them); the items after them follow.
    Gap(u64),
    /// A resumed subscription's position could not be used (the topic's
    /// history was lost, e.g. a restart gave it a new epoch): items follow
    /// live from now, and what came in between is unknown.
    Restarted,
    /// A reconnecting client subscribed again on a new connection, and the
    /// items carry no positions to resume from: items follow live from now,
    /// and whatever was sent while disconnected is unknown.
    Resubscribed,
    /// The serving end finished the subscription normally (its handler
    /// returned, or the topic it followed closed); nothing follows.
    Ended,
    /// The subscription ended with an error (the subscriber read too
    /// slowly, the connection closed, …); nothing follows.
    Closed(ErrorObject),
}

/// A live subscription: a `Stream` of [`SubscriptionEvent`]s.
///
/// Dropping it unsubscribes (the unsubscribe call is sent without waiting
/// for its answer); [`Subscription::unsubscribe`] does the same and waits.
///
/// # Examples
///
/// ```no_run
/// use wirecall::{Client, SubscriptionEvent};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::connect("ws://127.0.0.1:4000/").await?;
/// let mut prices = client
///     .subscribe::<f64>("subscribe_price", ["BTC"], "unsubscribe_price")
///     .await?;
/// while let Some(event) = prices.next().await {
///     match event {
///         SubscriptionEvent::Item(price) => println!("{price}"),
///         SubscriptionEvent::Lagged(missed) => println!("{missed} prices were dropped"),
///         SubscriptionEvent::Ended => println!("the feed ended"),
///         SubscriptionEvent::Closed(why) => println!("cut off: {}", why.message),
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Subscription<T> {
    queue: Arc<EventQueue>,
    /// How to end it; `None` once it has ended.
    end: Option<HeldSubscription>,
    done: bool,
    /// The position of the last item read, when items carry positions.
    at: Option<At>,
    item: PhantomData<fn() -> T>,
}

impl<T> Subscription<T> {
    pub(crate) fn new(queue: Arc<EventQueue>, end: HeldSubscription) -> Self {
        Subscription {
            queue,
            end: Some(end),
            done: false,
            at: None,
            item: PhantomData,
        }
    }

    /// The id the server gave this subscription, as JSON text; empty once
    /// it has ended or while a reconnecting client has no connection.
    pub fn id(&self) -> String {
        self.end
            .as_ref()
            .map_or_else(String::new, HeldSubscription::id)
    }

    /// The position of the last item read, when the serving end sends
    /// positions (topic-fed subscriptions do): give it to
    /// [`Peer::subscribe_from`](crate::session::Peer::subscribe_from) on a new
    /// connection to carry on from there.
    pub fn position(&self) -> Option<Position> {
        self.at.as_ref().map(|at| Position {
            epoch: at.epoch.clone(),
            offset: at.offset,
        })
    }

    /// Events received and not yet read.
    pub fn buffered(&self) -> usize {
        self.queue.len()
    }

    /// The next event, or `None` once the stream has ended; the same as
    /// `StreamExt::next`, without importing it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(client: wirecall::Client) -> Result<(), wirecall::CallError> {
    /// use wirecall::SubscriptionEvent;
    ///
    /// let mut ticks = client.subscribe::<u64>("subscribe_ticks", (), "unsubscribe_ticks").await?;
    /// while let Some(event) = ticks.next().await {
    ///     match event {
    ///         SubscriptionEvent::Item(n) => println!("tick {n}"),
    ///         SubscriptionEvent::Lagged(missed) => println!("missed {missed} ticks"),
    ///         SubscriptionEvent::Ended => println!("no more ticks"),
    ///         SubscriptionEvent::Closed(why) => println!("ended early: {why}"),
    ///         other => println!("{other:?}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn next(&mut self) -> Option<SubscriptionEvent<T>>
    where
        T: DeserializeOwned,
    {
        futures_util::StreamExt::next(self).await
    }

    /// Ends the subscription and waits for the server to confirm.
    ///
    /// # Errors
    ///
    /// The server's error (for example an unknown id), or a connection error.
    pub async fn unsubscribe(mut self) -> Result<(), crate::session::CallError> {
        match self.end.take() {
            Some(held) => held.unsubscribe().await,
            None => Ok(()),
        }
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if let Some(held) = self.end.take() {
            held.unsubscribe_in_background();
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
            RawEvent::Item(raw, at) => {
                if at.is_some() {
                    this.at = at;
                }
                match serde_json::from_str(raw.get()) {
                    Ok(item) => SubscriptionEvent::Item(item),
                    Err(err) => SubscriptionEvent::Malformed(err),
                }
            }
            RawEvent::Lagged(n) => SubscriptionEvent::Lagged(n),
            RawEvent::Resumed(Resume::Exact) => SubscriptionEvent::Resumed,
            RawEvent::Resumed(Resume::Gap(n)) => SubscriptionEvent::Gap(n),
            RawEvent::Resumed(Resume::Reset) => SubscriptionEvent::Restarted,
            RawEvent::Resubscribed => SubscriptionEvent::Resubscribed,
            RawEvent::Closed(reason) => {
                // Ended by the other side or the connection: nothing to undo,
                // and nothing to bind again.
                if let Some(held) = this.end.take() {
                    held.ended();
                }
                if reason.code == ErrorCode::SUBSCRIPTION_ENDED {
                    SubscriptionEvent::Ended
                } else {
                    SubscriptionEvent::Closed(reason)
                }
            }
        }))
    }
}
