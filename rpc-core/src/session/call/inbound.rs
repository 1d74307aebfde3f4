//! What the I/O task reads that belongs to this end itself: answers to its
//! own calls and items of the subscriptions it receives. Everything else
//! goes on to the router.

use std::sync::Arc;

use super::event_queue::RawEvent;
use super::pending::Waiter;
use super::received::ClientSubscriptionKey;
use crate::protocol::envelope::{self, NoticeEvent};
use crate::protocol::{Incoming, Notification, Response};
use crate::session::{CallError, Session};

/// Consumes `incoming` if it is an answer or a subscription notice of ours;
/// returns it otherwise.
pub(crate) fn take_own<'a>(session: &Arc<Session>, incoming: Incoming<'a>) -> Option<Incoming<'a>> {
    match incoming {
        Incoming::Response(response) => {
            complete(session, response);
            None
        }
        Incoming::Notification(note) if !session.client_subscriptions.is_empty() => {
            if deliver(session, &note) {
                None
            } else {
                Some(Incoming::Notification(note))
            }
        }
        other => Some(other),
    }
}

/// Hands an answer to the call waiting for it.
fn complete(session: &Arc<Session>, response: Response<'_>) {
    let Some(waiter) = response
        .id
        .as_u64()
        .and_then(|id| session.pending.remove(id))
    else {
        tracing::debug!(id = %response.id, "dropped an answer with an unknown id");
        return;
    };
    let outcome = response
        .outcome
        .map(ToOwned::to_owned)
        .map_err(CallError::Rpc);
    match waiter {
        Waiter::Call(reply) => drop(reply.send(outcome)),
        Waiter::Subscribe {
            reply,
            unsubscribe,
            queue,
        } => {
            let subscribed = outcome.map(|id| {
                session.client_subscriptions.insert(&id, queue);
                ClientSubscriptionKey { id, unsubscribe }
            });
            // The caller gave up waiting: end what it will never read.
            if let Err(Ok(key)) = reply.send(subscribed) {
                session.unsubscribe_in_background(&key);
            }
        }
        Waiter::Discard => {}
    }
}

/// Delivers a subscription notice; false when it is not one of ours.
fn deliver(session: &Session, note: &Notification<'_>) -> bool {
    let Some(notice) = note.params.and_then(envelope::parse_notice) else {
        return false;
    };
    let Some(queue) = session.client_subscriptions.get(notice.subscription) else {
        return false;
    };
    match notice.event {
        NoticeEvent::Ended(error) => {
            session.client_subscriptions.remove(notice.subscription);
            queue.push(RawEvent::Closed(error));
        }
        NoticeEvent::Lagged(missed) => queue.push(RawEvent::Lagged(missed)),
        NoticeEvent::Resumed(resume) => queue.push(RawEvent::Resumed(resume)),
        NoticeEvent::Item(item, None) => queue.push(RawEvent::Item(item.to_owned(), None)),
        NoticeEvent::Item(item, Some(position)) => {
            // A duplicate (already delivered before a reconnect) is dropped.
            if let Some(at) = queue.advance(&position.epoch, position.offset) {
                queue.push(RawEvent::Item(item.to_owned(), Some(at)));
            }
        }
    }
    true
}
