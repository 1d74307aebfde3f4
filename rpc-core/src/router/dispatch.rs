//! Turning classified messages into running calls and their replies.
//!
//! Dispatch has two steps so the engine can spawn the second: `prepare`
//! decodes params while they are still borrowed from the frame and starts the
//! handler; `finish` awaits it and encodes the reply. Most handlers finish
//! without waiting, so a started message is first polled once in place
//! (`poll_now`): those are answered with no task, no boxed future and, in a
//! batch, no per-call bookkeeping.

use std::panic::AssertUnwindSafe;
use std::task::{Context as TaskContext, Poll};

use futures_util::FutureExt;
use tokio::sync::oneshot;

use super::layer::{Answer, Call, CallKind, Done, Next, Outcome, Running};
use super::{subscribe, Context, Entry, MethodFuture, Params, Router};
use crate::protocol::envelope::RESUME_METHOD;
use crate::protocol::{encode, ErrorObject, Id, Incoming, Position};
use crate::session::serve::Accepted;

/// A reply frame and the subscriptions that may start sending once it is queued.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) frame: String,
    pub(crate) release: Vec<oneshot::Sender<()>>,
}

/// One message, started and not yet answered.
pub(crate) enum Prepared {
    Call(Id, Result<MethodFuture, ErrorObject>),
    Subscribe(Id, oneshot::Receiver<Result<Accepted, ErrorObject>>),
    Notify(MethodFuture),
    /// Started through the router's layers; answered under the id, if any.
    Layered(Option<Id>, Running),
    Reply(String),
    Nothing,
}

impl Prepared {
    /// The reply, if the value is done without waiting. Once this is ready
    /// the value is spent: neither it nor [`Prepared::finish`] may be
    /// called again.
    pub(super) fn poll_now(&mut self) -> Poll<Option<Reply>> {
        let frame = match self {
            Prepared::Call(id, Ok(future)) => match poll_once(future) {
                Poll::Ready(outcome) => answer(id, outcome),
                Poll::Pending => return Poll::Pending,
            },
            Prepared::Call(id, Err(err)) => encode::response_err(id, err),
            Prepared::Subscribe(id, accepted) => match accepted.try_recv() {
                Ok(Ok(accepted)) => {
                    return Poll::Ready(Some(Reply {
                        frame: encode::response_ok(id, &accepted.id_json),
                        release: vec![accepted.release],
                    }))
                }
                Ok(Err(err)) => encode::response_err(id, &err),
                Err(oneshot::error::TryRecvError::Empty) => return Poll::Pending,
                Err(oneshot::error::TryRecvError::Closed) => {
                    encode::response_err(id, &never_answered())
                }
            },
            Prepared::Notify(future) => {
                return match poll_once(future) {
                    Poll::Ready(outcome) => {
                        if let Err(err) = outcome {
                            tracing::debug!(%err, "a notification handler failed");
                        }
                        Poll::Ready(None)
                    }
                    Poll::Pending => Poll::Pending,
                };
            }
            Prepared::Layered(id, running) => {
                return match poll_once(running) {
                    Poll::Ready(outcome) => Poll::Ready(layered_reply(id.as_ref(), outcome)),
                    Poll::Pending => Poll::Pending,
                };
            }
            Prepared::Reply(frame) => std::mem::take(frame),
            Prepared::Nothing => return Poll::Ready(None),
        };
        Poll::Ready(Some(Reply {
            frame,
            release: Vec::new(),
        }))
    }

    /// Awaits the handler and encodes the reply, if one is due.
    pub(crate) async fn finish(self) -> Option<Reply> {
        let (frame, release) = match self {
            Prepared::Call(id, started) => (answer(&id, run(started).await), None),
            Prepared::Subscribe(id, accepted) => match accepted.await {
                Ok(Ok(accepted)) => (
                    encode::response_ok(&id, &accepted.id_json),
                    Some(accepted.release),
                ),
                Ok(Err(err)) => (encode::response_err(&id, &err), None),
                Err(_) => (encode::response_err(&id, &never_answered()), None),
            },
            Prepared::Notify(future) => {
                if let Err(err) = run(Ok(future)).await {
                    tracing::debug!(%err, "a notification handler failed");
                }
                return None;
            }
            Prepared::Layered(id, running) => {
                return layered_reply(id.as_ref(), catching(running).await);
            }
            Prepared::Reply(frame) => (frame, None),
            Prepared::Nothing => return None,
        };
        Some(Reply {
            frame,
            release: release.into_iter().collect(),
        })
    }
}

/// Starts one classified value. Responses are the engine's business and are
/// dropped here.
pub(crate) fn prepare(router: &Router, incoming: Incoming<'_>, ctx: &Context) -> Prepared {
    if !router.layers().is_empty() {
        return prepare_layered(router, incoming, ctx);
    }
    match incoming {
        Incoming::Request(call) => {
            let resume = match parse_resume(&call.method, call.params) {
                Ok(resume) => resume,
                Err(err) => return Prepared::Call(call.id, Err(err)),
            };
            let params = Params::new(call.params);
            match route(router, &call.id, &call.method, params, ctx, resume.as_ref()) {
                Route::Handler(started) => Prepared::Call(call.id, started),
                Route::Subscribe(Ok(started)) => Prepared::Subscribe(call.id, started.accepted),
                Route::Subscribe(Err(err)) => Prepared::Call(call.id, Err(err)),
                Route::Unsubscribe(outcome) => Prepared::Reply(encode_outcome(&call.id, outcome)),
            }
        }
        Incoming::Notification(note) => {
            let entry = router.entry(&note.method);
            match start(
                router,
                entry,
                &note.method,
                Params::new(note.params),
                ctx,
                None,
            ) {
                Ok(future) => Prepared::Notify(future),
                Err(err) => {
                    tracing::debug!(method = %note.method, %err, "a notification was refused");
                    Prepared::Nothing
                }
            }
        }
        Incoming::Invalid { id, error } => Prepared::Reply(encode::response_err(&id, &error)),
        Incoming::Response(response) => {
            tracing::debug!(id = %response.id, "dropped a response nobody waits for");
            Prepared::Nothing
        }
        Incoming::BadResponse { reason } => {
            tracing::warn!(reason, "dropped a malformed response");
            Prepared::Nothing
        }
    }
}

/// [`prepare`] for a router with layers: each call, notification and
/// subscribe starts through them. A resuming subscribe (`rpc.resume`) is
/// shown to the layers as the subscribe call it resumes, so a layer keyed
/// on method names cannot be bypassed through it.
fn prepare_layered(router: &Router, incoming: Incoming<'_>, ctx: &Context) -> Prepared {
    let (id, method, params, resume) = match incoming {
        Incoming::Request(call) => match parse_resume(&call.method, call.params) {
            Ok(Some(resume)) => (
                Some(call.id),
                resume.method.clone().into(),
                resume.params,
                Some(resume),
            ),
            Ok(None) => (Some(call.id), call.method, call.params, None),
            Err(err) => return Prepared::Call(call.id, Err(err)),
        },
        Incoming::Notification(note) => (None, note.method, note.params, None),
        other => return prepare(&Router::default(), other, ctx),
    };
    let entry = router.entry(&method);
    let kind = match (entry, &id) {
        (_, None) => CallKind::Notification,
        (Some(Entry::Subscribe(_)), _) => CallKind::Subscribe,
        (Some(Entry::Unsubscribe(_)), _) => CallKind::Unsubscribe,
        _ if resume.is_some() => CallKind::Subscribe,
        _ => CallKind::Method,
    };
    let call = Call {
        kind,
        method: &method,
        id: id.as_ref(),
        params,
        ctx,
        known: entry.is_some(),
        resuming: resume.is_some(),
    };
    let handler = || start_unlayered(router, &call, resume.as_ref());
    let next = Next {
        rest: router.layers(),
        call: &call,
        handler: &handler,
    };
    // A layer that panics fails this call alone, as a handler would.
    let running = std::panic::catch_unwind(AssertUnwindSafe(|| next.run()))
        .unwrap_or_else(|panic| Next::answer(panicked("a layer", &*panic)));
    Prepared::Layered(id, running)
}

/// The bottom of the layer stack: starts the call's handler (`resume` for
/// an `rpc.resume` call).
fn start_unlayered(
    router: &Router,
    call: &Call<'_>,
    resume: Option<&subscribe::ResumeCall<'_>>,
) -> Running {
    let params = Params::new(call.params);
    let Some(id) = call.id else {
        let started = start(
            router,
            router.entry(call.method),
            call.method,
            params,
            call.ctx,
            None,
        );
        return match started {
            Ok(future) => Box::pin(async move {
                catching(future).await?;
                Ok(Done(Answer::Reply(String::new())))
            }),
            Err(err) => Next::answer(err),
        };
    };
    match route(router, id, call.method, params, call.ctx, resume) {
        Route::Handler(Ok(future)) => Box::pin(async move {
            catching(future)
                .await
                .map(|frame| Done(Answer::Reply(frame)))
        }),
        Route::Handler(Err(err)) | Route::Subscribe(Err(err)) => Next::answer(err),
        Route::Unsubscribe(outcome) => {
            let outcome =
                outcome.map(|result| Done(Answer::Reply(encode::response_ok(id, &result))));
            Box::pin(std::future::ready(outcome))
        }
        Route::Subscribe(Ok(started)) => {
            // Dropped before the handler answers (a layer gave up on it,
            // say a timeout): the handler is cancelled, not left running.
            let cancel = started.cancel.drop_guard();
            Box::pin(async move {
                match started.accepted.await {
                    Ok(Ok(accepted)) => {
                        cancel.disarm();
                        Ok(Done(Answer::Accepted(accepted)))
                    }
                    Ok(Err(err)) => Err(err),
                    Err(_) => Err(never_answered()),
                }
            })
        }
    }
}

/// What a call starts: decided here once, for routers with layers and
/// without.
enum Route {
    /// A method's handler, running (or refused: unknown, bad params, a panic).
    Handler(Result<MethodFuture, ErrorObject>),
    /// A subscription starting, fresh or resumed.
    Subscribe(Result<subscribe::Started, ErrorObject>),
    /// An unsubscribe, answered at once.
    Unsubscribe(Result<Box<serde_json::value::RawValue>, ErrorObject>),
}

/// Routes the call `id` to `method` (or, for an `rpc.resume`, to the
/// subscription `resume` names).
fn route(
    router: &Router,
    id: &Id,
    method: &str,
    params: Params<'_>,
    ctx: &Context,
    resume: Option<&subscribe::ResumeCall<'_>>,
) -> Route {
    if let Some(resume) = resume {
        return Route::Subscribe(resume_parsed(router, resume, ctx));
    }
    match router.entry(method) {
        Some(Entry::Subscribe(entry)) => Route::Subscribe(match ctx.session() {
            Some(session) => subscribe::start(entry, params, ctx, session, None),
            None => Err(no_connection()),
        }),
        Some(Entry::Unsubscribe(entry)) => {
            Route::Unsubscribe(subscribe::unsubscribe(entry, params, ctx.session()))
        }
        entry => {
            let head = encode::response_ok_head(id);
            Route::Handler(start(router, entry, method, params, ctx, Some(head)))
        }
    }
}

/// The params of an `rpc.resume` call, read; `None` for any other method.
fn parse_resume<'a>(
    method: &str,
    params: Option<&'a serde_json::value::RawValue>,
) -> Result<Option<subscribe::ResumeCall<'a>>, ErrorObject> {
    if method != RESUME_METHOD {
        return Ok(None);
    }
    Params::new(params).parse().map(Some)
}

/// The reply to a call started through layers (none for a notification).
fn layered_reply(id: Option<&Id>, outcome: Outcome) -> Option<Reply> {
    let Some(id) = id else {
        if let Err(err) = outcome {
            tracing::debug!(%err, "a notification failed");
        }
        return None;
    };
    let (frame, release) = match outcome {
        Ok(Done(Answer::Reply(frame))) => (frame, Vec::new()),
        Ok(Done(Answer::Accepted(accepted))) => (
            encode::response_ok(id, &accepted.id_json),
            vec![accepted.release],
        ),
        Err(err) => (encode::response_err(id, &err), Vec::new()),
    };
    Some(Reply { frame, release })
}

fn resume_parsed(
    router: &Router,
    call: &subscribe::ResumeCall<'_>,
    ctx: &Context,
) -> Result<subscribe::Started, ErrorObject> {
    let Some(Entry::Subscribe(entry)) = router.entry(&call.method) else {
        let mut error = ErrorObject::method_not_found(&call.method);
        error.message = format!("{}: it is not a subscription", error.message);
        return Err(error);
    };
    let session = ctx.session().ok_or_else(no_connection)?;
    let since = Position {
        epoch: call.epoch.as_str().into(),
        offset: call.offset,
    };
    subscribe::start(entry, Params::new(call.params), ctx, session, Some(since))
}

fn never_answered() -> ErrorObject {
    ErrorObject::internal_error("the subscription was neither accepted nor rejected")
}

fn no_connection() -> ErrorObject {
    ErrorObject::internal_error(
        "a subscription needs a connection to carry its items: a WebSocket, \
         or over HTTP a POST that accepts text/event-stream",
    )
}

/// Starts a plain method (`entry` is what `method` names, if anything),
/// answering after `reply` unless it is a notification; a panic while
/// decoding params becomes -32603.
fn start(
    router: &Router,
    entry: Option<&Entry>,
    method: &str,
    params: Params<'_>,
    ctx: &Context,
    reply: Option<String>,
) -> Result<MethodFuture, ErrorObject> {
    let Some(Entry::Method(handler)) = entry else {
        return Err(not_found(router, method));
    };
    std::panic::catch_unwind(AssertUnwindSafe(|| handler(params, ctx, reply)))
        .unwrap_or_else(|panic| Err(panicked(method, &*panic)))
}

/// -32601, with the closest registered name when one is close.
fn not_found(router: &Router, method: &str) -> ErrorObject {
    let mut error = ErrorObject::method_not_found(method);
    if let Some(near) = crate::protocol::suggest::closest(method, router.method_names()) {
        error.message = format!("{}; did you mean `{near}`?", error.message);
    }
    error
}

/// Polls a handler once without a waker; a panic becomes -32603.
fn poll_once<T>(
    future: &mut std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, ErrorObject>> + Send>,
    >,
) -> Poll<Result<T, ErrorObject>> {
    let mut cx = TaskContext::from_waker(futures_util::task::noop_waker_ref());
    std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(&mut cx)))
        .unwrap_or_else(|panic| Poll::Ready(Err(panicked("async", &*panic))))
}

async fn run(started: Result<MethodFuture, ErrorObject>) -> Result<String, ErrorObject> {
    catching(started?).await
}

/// Awaits a handler; a panic becomes -32603.
async fn catching<T>(
    future: std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ErrorObject>> + Send>>,
) -> Result<T, ErrorObject> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(panicked("async", &*panic)))
}

fn panicked(method: &str, panic: &(dyn std::any::Any + Send)) -> ErrorObject {
    let detail = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    tracing::error!(method, detail, "a handler panicked");
    ErrorObject::internal_error("the handler panicked")
}

/// A method's reply frame, or its error answered under `id`.
fn answer(id: &Id, outcome: Result<String, ErrorObject>) -> String {
    outcome.unwrap_or_else(|err| encode::response_err(id, &err))
}

fn encode_outcome(
    id: &Id,
    outcome: Result<Box<serde_json::value::RawValue>, ErrorObject>,
) -> String {
    match outcome {
        Ok(result) => encode::response_ok(id, &result),
        Err(err) => encode::response_err(id, &err),
    }
}
