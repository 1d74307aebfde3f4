//! Turning classified messages into running calls and their replies.
//!
//! Dispatch has two steps so the engine can spawn the second: `prepare`
//! decodes params while they are still borrowed from the frame and starts the
//! handler; `finish` awaits it and encodes the reply.

use std::panic::AssertUnwindSafe;

use futures_util::future::{join_all, Either};
use futures_util::FutureExt;
use tokio::sync::oneshot;

use super::{subscribe, Context, Entry, MethodFuture, Params, Router};
use crate::protocol::envelope::RESUME_METHOD;
use crate::protocol::{encode, ErrorObject, Id, Incoming, Message, Position};
use crate::session::Accepted;

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
    Reply(String),
    Nothing,
}

impl Prepared {
    /// Awaits the handler and encodes the reply, if one is due.
    pub(crate) async fn finish(self) -> Option<Reply> {
        let (frame, release) = match self {
            Prepared::Call(id, started) => (encode_outcome(&id, run(started).await), None),
            Prepared::Subscribe(id, accepted) => match accepted.await {
                Ok(Ok(accepted)) => (
                    encode::response_ok(&id, &accepted.id_json),
                    Some(accepted.release),
                ),
                Ok(Err(err)) => (encode::response_err(&id, &err), None),
                Err(_) => {
                    let err = ErrorObject::internal_error(
                        "the subscription was neither accepted nor rejected",
                    );
                    (encode::response_err(&id, &err), None)
                }
            },
            Prepared::Notify(future) => {
                if let Err(err) = run(Ok(future)).await {
                    tracing::debug!(%err, "a notification handler failed");
                }
                return None;
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
    match incoming {
        Incoming::Request(call) if call.method == RESUME_METHOD => {
            match resume(router, call.params, ctx) {
                Ok(accepted) => Prepared::Subscribe(call.id, accepted),
                Err(err) => Prepared::Call(call.id, Err(err)),
            }
        }
        Incoming::Request(call) => {
            let params = Params::new(call.params);
            match router.entry(&call.method) {
                Some(Entry::Subscribe(entry)) => match ctx.session() {
                    Some(session) => match subscribe::start(entry, params, ctx, session, None) {
                        Ok(accepted) => Prepared::Subscribe(call.id, accepted),
                        Err(err) => Prepared::Call(call.id, Err(err)),
                    },
                    None => Prepared::Call(call.id, Err(no_connection())),
                },
                Some(Entry::Unsubscribe(entry)) => {
                    let outcome = subscribe::unsubscribe(entry, params, ctx.session());
                    Prepared::Reply(encode_outcome(&call.id, outcome))
                }
                _ => Prepared::Call(call.id, start(router, &call.method, params, ctx)),
            }
        }
        Incoming::Notification(note) => {
            match start(router, &note.method, Params::new(note.params), ctx) {
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

/// Starts a subscription that carries on after a position (`rpc.resume`).
fn resume(
    router: &Router,
    params: Option<&serde_json::value::RawValue>,
    ctx: &Context,
) -> Result<oneshot::Receiver<Result<Accepted, ErrorObject>>, ErrorObject> {
    let call: subscribe::ResumeCall<'_> = Params::new(params).parse()?;
    let Some(Entry::Subscribe(entry)) = router.entry(&call.method) else {
        let mut error = ErrorObject::method_not_found(&call.method);
        error.message = format!("{}: it is not a subscription", error.message);
        return Err(error);
    };
    let session = ctx.session().ok_or_else(no_connection)?;
    let since = Position {
        epoch: call.epoch.into(),
        offset: call.offset,
    };
    subscribe::start(entry, Params::new(call.params), ctx, session, Some(since))
}

fn no_connection() -> ErrorObject {
    ErrorObject::internal_error("subscriptions need a live connection")
}

/// Starts a plain method; a panic while decoding params becomes -32603.
fn start(
    router: &Router,
    method: &str,
    params: Params<'_>,
    ctx: &Context,
) -> Result<MethodFuture, ErrorObject> {
    let Some(Entry::Method(handler)) = router.entry(method) else {
        return Err(not_found(router, method));
    };
    std::panic::catch_unwind(AssertUnwindSafe(|| handler(params, ctx)))
        .unwrap_or_else(|panic| Err(panicked(method, &*panic)))
}

/// -32601, with the closest registered name when one is close.
fn not_found(router: &Router, method: &str) -> ErrorObject {
    let mut error = ErrorObject::method_not_found(method);
    if let Some(near) = super::suggest::closest(method, router.method_names()) {
        error.message = format!("{}; did you mean `{near}`?", error.message);
    }
    error
}

async fn run(
    started: Result<MethodFuture, ErrorObject>,
) -> Result<Box<serde_json::value::RawValue>, ErrorObject> {
    let future = started?;
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

fn encode_outcome(
    id: &Id,
    outcome: Result<Box<serde_json::value::RawValue>, ErrorObject>,
) -> String {
    match outcome {
        Ok(result) => encode::response_ok(id, &result),
        Err(err) => encode::response_err(id, &err),
    }
}

/// Prepares every value of a message; the future answers them all, batching
/// replies as the spec asks (none at all for a batch of notifications).
pub(crate) fn prepare_message(
    router: &Router,
    message: Message<'_>,
    ctx: &Context,
) -> impl std::future::Future<Output = Option<Reply>> + Send + 'static {
    match message {
        Message::Single(incoming) => Either::Left(prepare(router, incoming, ctx).finish()),
        Message::Batch(items) => {
            let prepared: Vec<Prepared> = items
                .into_iter()
                .map(|item| prepare(router, item, ctx))
                .collect();
            Either::Right(finish_batch(prepared))
        }
    }
}

async fn finish_batch(prepared: Vec<Prepared>) -> Option<Reply> {
    let replies: Vec<Reply> = join_all(prepared.into_iter().map(Prepared::finish))
        .await
        .into_iter()
        .flatten()
        .collect();
    if replies.is_empty() {
        return None;
    }
    let mut release = Vec::new();
    let frames = replies.into_iter().map(|reply| {
        release.extend(reply.release);
        reply.frame
    });
    let frame = encode::batch(frames.collect::<Vec<_>>());
    Some(Reply { frame, release })
}

/// [`prepare_message`] then its reply frame, for use outside a connection.
pub(crate) async fn respond_message(
    router: &Router,
    message: Message<'_>,
    ctx: &Context,
) -> Option<String> {
    prepare_message(router, message, ctx)
        .await
        .map(|reply| reply.frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn method_not_found_suggests_a_close_name() {
        let mut router = Router::new();
        router
            .method("calc_add", |_: Params<'_>, _: &Context| {
                Ok(async { Ok::<_, ErrorObject>(0) })
            })
            .unwrap();
        let reply = router
            .handle(r#"{"jsonrpc":"2.0","method":"add","id":1}"#)
            .await
            .unwrap();
        let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(reply["error"]["code"], -32601);
        assert_eq!(
            reply["error"]["message"],
            "Method not found: `add`; did you mean `calc_add`?"
        );
    }
}
