//! A whole frame: one call, or a batch whose calls all start at once and
//! whose replies go out in one frame, in the order of its calls.

use std::task::Poll;

use futures_util::future::join_all;

use super::dispatch::{prepare, Prepared, Reply};
use super::{Context, Router};
use crate::protocol::{encode, Message};

/// A message whose values have all been started.
pub(crate) enum Started {
    One(Prepared),
    Batch(Vec<Slot>),
}

/// One value of a batch: still running, or answered (or due no answer).
pub(crate) enum Slot {
    Running(Prepared),
    Done(Option<Reply>),
}

/// Starts every value of a message.
pub(crate) fn prepare_message(router: &Router, message: Message<'_>, ctx: &Context) -> Started {
    match message {
        Message::Single(incoming) => Started::One(prepare(router, incoming, ctx)),
        Message::Batch(items) => Started::Batch(
            items
                .into_iter()
                .map(|item| Slot::Running(prepare(router, item, ctx)))
                .collect(),
        ),
    }
}

impl Started {
    /// The reply, if every value is done without waiting; the values that
    /// are done keep their replies either way. Once this is ready the
    /// message is spent.
    pub(crate) fn poll_now(&mut self) -> Poll<Option<Reply>> {
        match self {
            Started::One(prepared) => prepared.poll_now(),
            Started::Batch(slots) => {
                let mut all_done = true;
                for slot in slots.iter_mut() {
                    if let Slot::Running(prepared) = slot {
                        match prepared.poll_now() {
                            Poll::Ready(reply) => *slot = Slot::Done(reply),
                            Poll::Pending => all_done = false,
                        }
                    }
                }
                if all_done {
                    Poll::Ready(batch_reply(std::mem::take(slots)))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    /// Answers every value, batching replies as the spec asks (none at all
    /// for a batch of notifications).
    pub(crate) async fn finish(self) -> Option<Reply> {
        match self {
            Started::One(prepared) => prepared.finish().await,
            Started::Batch(slots) => {
                let slots = join_all(slots.into_iter().map(|slot| async move {
                    match slot {
                        Slot::Running(prepared) => Slot::Done(prepared.finish().await),
                        done @ Slot::Done(_) => done,
                    }
                }))
                .await;
                batch_reply(slots)
            }
        }
    }
}

/// One frame with every reply of a batch, in the order of its calls.
fn batch_reply(slots: Vec<Slot>) -> Option<Reply> {
    let mut release = Vec::new();
    let frames: Vec<String> = slots
        .into_iter()
        .filter_map(|slot| match slot {
            Slot::Done(reply) => reply,
            Slot::Running(_) => None,
        })
        .map(|reply| {
            release.extend(reply.release);
            reply.frame
        })
        .collect();
    if frames.is_empty() {
        return None;
    }
    Some(Reply {
        frame: encode::batch(frames),
        release,
    })
}

/// [`prepare_message`] then its reply frame, for use outside a connection.
pub(crate) async fn respond_message(
    router: &Router,
    message: Message<'_>,
    ctx: &Context,
) -> Option<String> {
    let mut started = prepare_message(router, message, ctx);
    let reply = match started.poll_now() {
        Poll::Ready(reply) => reply,
        Poll::Pending => started.finish().await,
    };
    reply.map(|reply| reply.frame)
}

#[cfg(test)]
mod tests {
    use crate::protocol::ErrorObject;
    use crate::router::{Context, Params, Router};

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
