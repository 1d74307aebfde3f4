//! Server-pushed subscriptions: registration, the server-side sink with its
//! bounded buffer, and the client-side stream.
//!
//! On the wire (the convention jsonrpsee and Ethereum's `eth_subscribe` use):
//! the subscribe call answers with the subscription id; each item is a
//! notification `{"method":<name>,"params":{"subscription":<id>,"result":<item>}}`;
//! the unsubscribe call takes `[<id>]` and answers `true`. wirecall adds two
//! notices in the same envelope: `"lagged": n` when n items were dropped, and
//! `"error": {…}` when the server ends the subscription.

mod sink;
mod stream;

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub(crate) use sink::SinkShared;
pub use sink::{AcceptError, SendError, SubscriptionSink};
pub(crate) use stream::{EventQueue, RawEvent};
pub use stream::{Subscription, SubscriptionEvent};

use crate::connection::Session;
use crate::router::{Context, Entry, Params, RegisterError, Router};
use crate::ErrorObject;

/// What a subscription's buffer does when it is full because the peer reads
/// more slowly than the server produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OverflowPolicy {
    /// Drop the oldest buffered item and tell the client how many it missed
    /// (a `"lagged": n` notice before the next item). For producers that must
    /// never wait, such as market data where only the latest matters.
    DropOldest,
    /// End the subscription with an error notice saying the client was too slow.
    Close,
    /// Make [`SubscriptionSink::send`] wait for room (backpressure to the
    /// producer): nothing is lost. The default. A subscription fed from a
    /// [`crate::bus::Bus`] still never holds the bus up: it falls behind the
    /// bus instead, and the client gets an exact lag notice.
    #[default]
    Wait,
}

/// Buffer size and overflow policy of one kind of subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkConfig {
    /// Items buffered per subscription before the policy applies.
    pub buffer: usize,
    /// What happens when the buffer is full.
    pub policy: OverflowPolicy,
}

impl Default for SinkConfig {
    /// 1024 items, [`OverflowPolicy::Wait`].
    fn default() -> SinkConfig {
        SinkConfig {
            buffer: 1024,
            policy: OverflowPolicy::Wait,
        }
    }
}

type StartFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type StartFn =
    dyn Fn(Params<'_>, &Context, PendingRaw) -> Result<StartFuture, ErrorObject> + Send + Sync;

/// One registered kind of subscription.
pub(crate) struct SubscriptionEntry {
    pub(crate) notification: Arc<str>,
    start: Box<StartFn>,
    config: SinkConfig,
}

/// The reply to an accepted subscribe call.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) id_json: Box<RawValue>,
    pub(crate) release: oneshot::Sender<()>,
}

/// A subscribe call not yet answered: accept it to get a sink, or reject it.
///
/// Dropping it unanswered answers the call with -32603.
#[derive(Debug)]
pub struct PendingSubscription<T> {
    raw: PendingRaw,
    item: PhantomData<fn(&T)>,
}

#[derive(Debug)]
pub(crate) struct PendingRaw {
    responder: oneshot::Sender<Result<Accepted, ErrorObject>>,
    session: Arc<Session>,
    notification: Arc<str>,
    config: SinkConfig,
    token: CancellationToken,
}

impl<T: Serialize> PendingSubscription<T> {
    /// Answers the call with a fresh subscription id and returns the sink for
    /// its items. Items sent before the answer is on the wire wait in the buffer.
    ///
    /// # Errors
    ///
    /// [`AcceptError`] when the connection allows no more subscriptions (the
    /// call is then answered with an error) or is gone.
    pub fn accept(self) -> Result<SubscriptionSink<T>, AcceptError> {
        sink::accept(self.raw).map(SubscriptionSink::from_shared)
    }

    /// Answers the call with `error`; no subscription is created.
    pub fn reject(self, error: impl Into<ErrorObject>) {
        let _ = self.raw.responder.send(Err(error.into()));
    }
}

impl Router {
    /// Registers a subscription: `subscribe` starts it, items go out as
    /// `notification`, and `unsubscribe` ends it.
    ///
    /// `handler` decodes the params and returns a future that owns the
    /// subscription for its life: it accepts or rejects the
    /// [`PendingSubscription`], then sends items. The future is dropped when
    /// the client unsubscribes or the connection closes.
    ///
    /// # Errors
    ///
    /// [`RegisterError`] when `subscribe` or `unsubscribe` is taken or reserved.
    pub fn subscription<F, Fut, T>(
        &mut self,
        subscribe: &str,
        notification: &str,
        unsubscribe: &str,
        config: SinkConfig,
        handler: F,
    ) -> Result<&mut Router, RegisterError>
    where
        F: Fn(Params<'_>, &Context, PendingSubscription<T>) -> Result<Fut, ErrorObject>
            + Send
            + Sync
            + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        T: Serialize + 'static,
    {
        let start: Box<StartFn> = Box::new(move |params, ctx, raw| {
            let pending = PendingSubscription {
                raw,
                item: PhantomData,
            };
            let future = handler(params, ctx, pending)?;
            Ok(Box::pin(future) as StartFuture)
        });
        let entry = Arc::new(SubscriptionEntry {
            notification: notification.into(),
            start,
            config,
        });
        if subscribe == unsubscribe {
            return Err(RegisterError::Duplicate(subscribe.to_owned()));
        }
        self.insert(subscribe, Entry::Subscribe(entry.clone()))?;
        if let Err(err) = self.insert(unsubscribe, Entry::Unsubscribe(entry)) {
            self.remove(subscribe);
            return Err(err);
        }
        Ok(self)
    }
}

/// Runs a subscribe call's handler on its own task.
pub(crate) fn start(
    entry: &SubscriptionEntry,
    params: Params<'_>,
    ctx: &Context,
    session: &Arc<Session>,
) -> Result<oneshot::Receiver<Result<Accepted, ErrorObject>>, ErrorObject> {
    let (responder, accepted) = oneshot::channel();
    let token = session.token().child_token();
    let raw = PendingRaw {
        responder,
        session: session.clone(),
        notification: entry.notification.clone(),
        config: entry.config,
        token: token.clone(),
    };
    let future = std::panic::catch_unwind(AssertUnwindSafe(|| (entry.start)(params, ctx, raw)))
        .unwrap_or_else(|_| Err(ErrorObject::internal_error("the handler panicked")))?;
    // At the limit the handler could not accept anyway: answer at once,
    // without a task, so a flood of subscribe calls is refused as fast as read.
    session
        .subscriptions()
        .check_room()
        .map_err(|err| err.to_error_object())?;
    tokio::spawn(async move {
        tokio::select! {
            () = token.cancelled() => {}
            outcome = futures_util::FutureExt::catch_unwind(AssertUnwindSafe(future)) => {
                if outcome.is_err() {
                    tracing::error!("a subscription handler panicked");
                }
            }
        }
    });
    Ok(accepted)
}

/// Ends the subscription named by the single param, answering `true`.
pub(crate) fn unsubscribe(
    entry: &SubscriptionEntry,
    params: Params<'_>,
    session: Option<&Arc<Session>>,
) -> Result<Box<RawValue>, ErrorObject> {
    let mut reader = params.reader()?;
    let id: Box<RawValue> = reader.next("subscription")?;
    reader.finish()?;
    let removed = session.and_then(|s| s.subscriptions().remove(id.get(), &entry.notification));
    match removed {
        Some(shared) => {
            shared.finish_quietly();
            Ok(RawValue::from_string("true".into()).expect("valid JSON"))
        }
        None => Err(ErrorObject::invalid_params(format!(
            "unknown subscription id {}",
            id.get()
        ))),
    }
}
