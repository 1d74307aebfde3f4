//! Subscriptions in the router: registering a kind, starting one when its
//! subscribe call arrives, ending one on its unsubscribe call.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::{Context, Entry, Params, RegisterError, Router};
use crate::protocol::{ErrorObject, Position};
use crate::session::serve::{Accepted, PendingRaw};
use crate::session::{PendingSubscription, Session, SinkConfig};

/// How long a subscription handler may run on after its sink closed.
pub(crate) const CLEANUP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

type StartFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
type StartFn =
    dyn Fn(Params<'_>, &Context, PendingRaw) -> Result<StartFuture, ErrorObject> + Send + Sync;

/// One registered kind of subscription.
pub(crate) struct SubscriptionEntry {
    pub(crate) notification: Arc<str>,
    start: Box<StartFn>,
    config: SinkConfig,
}

impl Router {
    /// Registers a subscription: `subscribe` starts it, items go out as
    /// `notification`, and `unsubscribe` ends it.
    ///
    /// `handler` decodes the params and returns a future that owns the
    /// subscription for its life: it accepts or rejects the
    /// [`PendingSubscription`], then sends items. When the client
    /// unsubscribes or the connection closes, the sink closes: `send` fails
    /// and `closed()` resolves, so the handler can clean up and return; one
    /// still running 5 s later is dropped. When the handler returns, the
    /// client's stream yields `Ended`.
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
            let pending = PendingSubscription::from_raw(raw);
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

/// A subscribe call whose handler runs on its own task.
pub(crate) struct Started {
    /// The handler's answer: accepted, or rejected.
    pub(crate) accepted: oneshot::Receiver<Result<Accepted, ErrorObject>>,
    /// Cancels the handler (and the subscription, once accepted).
    pub(crate) cancel: CancellationToken,
}

/// Runs a subscribe call's handler on its own task.
pub(crate) fn start(
    entry: &SubscriptionEntry,
    params: Params<'_>,
    ctx: &Context,
    session: &Arc<Session>,
    resume_from: Option<Position>,
) -> Result<Started, ErrorObject> {
    let (responder, accepted) = oneshot::channel();
    let token = session.token().child_token();
    let raw = PendingRaw {
        responder,
        session: session.clone(),
        notification: entry.notification.clone(),
        config: entry.config,
        token: token.clone(),
        resume_from,
    };
    let future = std::panic::catch_unwind(AssertUnwindSafe(|| (entry.start)(params, ctx, raw)))
        .unwrap_or_else(|_| Err(ErrorObject::internal_error("the handler panicked")))?;
    // At the limit the handler could not accept anyway: answer at once,
    // without a task, so a flood of subscribe calls is refused as fast as read.
    session
        .subscriptions()
        .check_room()
        .map_err(|err| err.to_error_object())?;
    // Runs in the subscribe call's span, when a layer made one.
    let span = tracing::Span::current();
    let cancel = token.clone();
    crate::rt::spawn(tracing::Instrument::instrument(
        async move {
            let mut running = std::pin::pin!(futures_util::FutureExt::catch_unwind(
                AssertUnwindSafe(future)
            ));
            let outcome = tokio::select! {
                outcome = &mut running => Some(outcome),
                () = token.cancelled() => None,
            };
            // Unsubscribed or disconnected: the handler sees its sink close
            // (`send` fails, `closed()` resolves) and gets a grace period to
            // clean up before it is dropped.
            let outcome = if let Some(outcome) = outcome {
                outcome
            } else {
                let Ok(outcome) = crate::rt::timeout(CLEANUP_GRACE, running).await else {
                    tracing::warn!(
                    "a subscription handler ran on {CLEANUP_GRACE:?} after its sink closed; dropped"
                );
                    return;
                };
                outcome
            };
            if outcome.is_err() {
                tracing::error!("a subscription handler panicked");
            }
        },
        span,
    ));
    Ok(Started { accepted, cancel })
}

/// The params of a resuming subscribe call (`rpc.resume`).
#[derive(serde::Deserialize)]
pub(crate) struct ResumeCall<'a> {
    pub(crate) method: String,
    #[serde(borrow, default)]
    pub(crate) params: Option<&'a RawValue>,
    pub(crate) epoch: String,
    pub(crate) offset: u64,
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
    let ended = || session.is_some_and(|s| s.subscriptions().was_issued(id.get()));
    match removed {
        Some(shared) => {
            shared.finish_quietly();
            Ok(RawValue::from_string("true".into()).expect("valid JSON"))
        }
        // It ended on its own while the call was on its way (its end notice
        // may still be behind this answer): what was asked for holds.
        None if ended() => Ok(RawValue::from_string("true".into()).expect("valid JSON")),
        None => Err(ErrorObject::invalid_params(format!(
            "unknown subscription id {}",
            id.get()
        ))),
    }
}
