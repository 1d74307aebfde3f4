//! Feeding a subscription from a topic: directly from the publisher where
//! the bus can, through the bus's stream where it cannot.

use std::sync::Arc;

use serde::Serialize;

use super::subscriber::{Attach, DirectBus, Subscriber};
use super::{Bus, BusEvent, TopicStream};
use crate::protocol::Position;
use crate::session::{PendingSubscription, SendError, SubscriptionSink};

/// Forwards a topic into a subscription until either ends. Items carry
/// their positions; a subscriber that falls behind the bus is told with a
/// lag notice, never silently skipped; a resume's outcome goes first.
///
/// # Errors
///
/// [`SendError::Closed`] once the subscription has ended.
pub async fn forward<T: Serialize>(
    mut topic: TopicStream,
    sink: &SubscriptionSink<T>,
) -> Result<(), SendError> {
    use futures_util::StreamExt;
    // One wait for the end, kept across items rather than made per item.
    let closed = sink.closed();
    tokio::pin!(closed);
    loop {
        tokio::select! {
            event = topic.next() => match event {
                Some(BusEvent::Item(item, position)) => sink.send_raw_at(&item, &position).await?,
                Some(BusEvent::Lagged(missed)) => sink.report_lagged(missed),
                Some(BusEvent::Resumed(resume)) => sink.report_resumed(resume),
                None => return Ok(()),
            },
            () = &mut closed => return Err(SendError::Closed),
        }
    }
}

/// Accepts `pending` and feeds it `topic`, resuming after the position
/// the client gave, if it gave one: the whole body of a topic-fed
/// subscription handler.
///
/// With a bus that delivers directly (both of this crate's:
/// [`InProcessBus`](super::InProcessBus) as it publishes, `RedisBus` as its
/// node's feed of the topic receives) the bus writes each item into every
/// subscription itself, and this task sleeps until its subscription ends
/// or falls behind: a subscription whose
/// buffer is full (under [`OverflowPolicy::Wait`](crate::OverflowPolicy))
/// is passed by, catches up from the topic's history, and is then fed
/// again, with nothing lost or doubled while history holds what it missed
/// (and an exact lag notice for what it did not). With any other bus it
/// forwards the bus's [`TopicStream`]. When the bus cannot start the
/// subscription (a shared bus whose server does not answer within its
/// bound), the call is refused with
/// [`BUS_UNAVAILABLE`](crate::protocol::ErrorCode::BUS_UNAVAILABLE).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use wirecall::bus::{self, InProcessBus};
/// use wirecall::{Context, Params, PendingSubscription, Router, SinkConfig};
///
/// let news = Arc::new(InProcessBus::default());
/// let mut router = Router::new();
/// let bus = news.clone();
/// router.subscription(
///     "subscribe_news",
///     "news",
///     "unsubscribe_news",
///     SinkConfig::default(),
///     move |_: Params<'_>, _: &Context, pending: PendingSubscription<String>| {
///         let bus = bus.clone();
///         Ok(async move { bus::follow(&*bus, "news", pending).await })
///     },
/// )?;
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// bus::publish(&*news, "news", "wirecall resumes").await?;
/// # Ok::<(), wirecall::bus::BusError>(())
/// # }).unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn follow<B: Bus + ?Sized, T: Serialize>(
    bus: &B,
    topic: &str,
    pending: PendingSubscription<T>,
) {
    match bus.direct() {
        Some(direct) => follow_directly(direct, topic, pending).await,
        None => follow_stream(bus, topic, pending).await,
    }
}

async fn follow_stream<B: Bus + ?Sized, T: Serialize>(
    bus: &B,
    topic: &str,
    pending: PendingSubscription<T>,
) {
    // Following before answering: the subscriber gets everything published
    // after its subscribe call is answered.
    let stream = match bus.subscribe_from(topic, pending.resume_from()).await {
        Ok(stream) => stream,
        Err(err) => {
            pending.reject(err);
            return;
        }
    };
    let Ok(sink) = pending.accept() else { return };
    let _ = forward(stream, &sink).await;
}

async fn follow_directly<T: Serialize>(
    bus: &dyn DirectBus,
    topic: &str,
    pending: PendingSubscription<T>,
) {
    let mut since = pending.resume_from().cloned();
    let Ok((shared, unanswered)) = pending.prepare() else {
        return;
    };
    let subscriber = Arc::new(Subscriber::new(shared.clone(), since.is_some()));
    let _attached = Attached {
        bus,
        topic,
        subscriber: &subscriber,
    };
    // Fed before answering: the subscriber gets everything published after
    // its subscribe call is answered (what comes meanwhile waits in the
    // sink's buffer, behind the answer).
    let mut attach = match bus.attach(topic, &subscriber, since.as_ref()).await {
        Ok(attach) => attach,
        Err(err) => return unanswered.refuse(err.into()),
    };
    if unanswered.answer().is_err() {
        return;
    }
    let sink = SubscriptionSink::<T>::from_shared(shared);
    loop {
        match attach {
            Attach::Live => match subscriber.fallen_behind().await {
                Some(at) => since = Some(at),
                None => return,
            },
            Attach::Behind { items, after } => {
                let waiting = items.is_empty();
                if replay(&sink, items, &mut since).await.is_err() {
                    return;
                }
                since = Some(after);
                if waiting {
                    // The bus's own feed is behind `after`: it catches up
                    // within a moment.
                    tokio::time::sleep(FEED_WAIT).await;
                }
            }
        }
        attach = match bus.attach(topic, &subscriber, since.as_ref()).await {
            Ok(attach) => attach,
            Err(err) => return sink.close_with(err),
        };
    }
}

/// How long a subscriber ahead of its bus's live feed waits before asking
/// again.
const FEED_WAIT: std::time::Duration = std::time::Duration::from_millis(10);

/// Sends what a subscriber missed, waiting for room as it goes.
async fn replay<T: Serialize>(
    sink: &SubscriptionSink<T>,
    items: Vec<(Arc<serde_json::value::RawValue>, Position)>,
    since: &mut Option<Position>,
) -> Result<(), SendError> {
    for (item, position) in items {
        sink.send_raw_at(&item, &position).await?;
        *since = Some(position);
    }
    Ok(())
}

/// While alive, the subscriber is on the topic's list: dropped (however the
/// subscription ends, or its task is), it leaves it.
struct Attached<'a> {
    bus: &'a dyn DirectBus,
    topic: &'a str,
    subscriber: &'a Arc<Subscriber>,
}

impl Drop for Attached<'_> {
    fn drop(&mut self) {
        self.bus.detach(self.topic, self.subscriber);
    }
}
