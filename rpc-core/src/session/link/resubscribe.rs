//! The subscriptions a durable link keeps: made once, bound again to each
//! new connection, resuming after the last position they delivered, and
//! ended when their owner lets go.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::rt::Instant;
use serde_json::value::RawValue;

use super::durable::{Bound, DurableLink, DurableSubscription};
use crate::protocol::{envelope, ErrorCode, ErrorObject};
use crate::session::call::{At, ClientSubscriptionKey, EventQueue, RawEvent};
use crate::session::{CallError, Session};

/// Call timeouts a subscription's rebind may take before it is given up.
const REBIND_TRIES: usize = 3;

impl DurableLink {
    /// Subscribes and keeps the subscription bound across connections,
    /// starting after `since` when given.
    pub(crate) async fn subscribe(
        self: &Arc<Self>,
        method: &str,
        params: Option<Box<RawValue>>,
        unsubscribe: &str,
        since: Option<At>,
    ) -> Result<Arc<DurableSubscription>, CallError> {
        let subscription = Arc::new(DurableSubscription {
            slot: self.next_slot.fetch_add(1, Ordering::Relaxed),
            method: method.into(),
            params,
            unsubscribe: unsubscribe.into(),
            queue: Arc::new(EventQueue::durable(self.config.subscription_buffer, since)),
            bound: tokio::sync::Mutex::new(None),
            dropped: AtomicBool::new(false),
        });
        // Registered first, so a reconnect in the middle cannot miss it.
        self.subscriptions
            .lock()
            .expect("durable subscriptions lock")
            .insert(subscription.slot, subscription.clone());
        // Until it is bound, giving up (an error, a dropped future) forgets it.
        let mut unbound = ForgetOnDrop {
            link: self,
            subscription: Some(&subscription),
        };
        let deadline = self.deadline();
        loop {
            let session = self.session_until(deadline).await?;
            match self.bind(&subscription, &session, deadline).await {
                Err(CallError::Closed(_) | CallError::Disconnected(_)) => {
                    crate::rt::yield_now().await;
                }
                Err(err) => return Err(err),
                Ok(()) => break,
            }
        }
        unbound.subscription = None;
        drop(unbound);
        Ok(subscription)
    }

    /// Binds `subscription` to `session` unless it is bound there already.
    /// A subscription bound before is told how it picks up: by the serving
    /// end's resume notice when it has a position, else `Resubscribed`.
    async fn bind(
        &self,
        subscription: &DurableSubscription,
        session: &Arc<Session>,
        deadline: Instant,
    ) -> Result<(), CallError> {
        let mut bound = subscription.bound.lock().await;
        if bound.as_ref().is_some_and(|bound| bound.is_on(session)) {
            return Ok(());
        }
        let again = bound.is_some();
        let queue = &subscription.queue;
        let unsubscribe = &subscription.unsubscribe;
        let key = if let Some(at) = queue.last_position() {
            let resume = envelope::resume_params(
                &subscription.method,
                subscription.params.as_deref(),
                &at.epoch,
                at.offset,
            );
            let resumed = session
                .subscribe_into(
                    envelope::RESUME_METHOD,
                    Some(&resume),
                    unsubscribe,
                    queue.clone(),
                    deadline,
                )
                .await;
            match resumed {
                // A server without resume: subscribe as new.
                Err(CallError::Rpc(error)) if error.code == ErrorCode::MethodNotFound => {
                    queue.push(RawEvent::Resubscribed);
                    self.subscribe_plain(subscription, session, deadline).await
                }
                other => other,
            }
        } else {
            if again {
                queue.push(RawEvent::Resubscribed);
            }
            self.subscribe_plain(subscription, session, deadline).await
        }?;
        *bound = Some(Bound {
            session: Arc::downgrade(session),
            key,
        });
        // Checked after storing: a drop that found the lock held meanwhile
        // left the unsubscribe to this bind.
        if subscription.dropped.load(Ordering::Acquire) {
            if let Some(Bound { key, .. }) = bound.take() {
                session.unsubscribe_in_background(&key);
            }
        }
        Ok(())
    }

    async fn subscribe_plain(
        &self,
        subscription: &DurableSubscription,
        session: &Arc<Session>,
        deadline: Instant,
    ) -> Result<ClientSubscriptionKey, CallError> {
        session
            .subscribe_into(
                &subscription.method,
                subscription.params.as_deref(),
                &subscription.unsubscribe,
                subscription.queue.clone(),
                deadline,
            )
            .await
    }

    /// Binds every subscription to `session`, the new connection, all at
    /// once. One the serving end now refuses ends with that error; one
    /// whose connection drops again waits for the next.
    pub(crate) async fn rebind_all(&self, session: &Arc<Session>) {
        let subscriptions: Vec<_> = self
            .subscriptions
            .lock()
            .expect("durable subscriptions lock")
            .values()
            .cloned()
            .collect();
        let binds = subscriptions.iter().map(|subscription| async move {
            // A slow serving end (its bus catching up, say) gets a few call
            // timeouts before the subscription is given up with an error.
            for _ in 0..REBIND_TRIES {
                if subscription.queue.is_closed() {
                    self.forget(subscription);
                    return;
                }
                match self.bind(subscription, session, self.deadline()).await {
                    Ok(()) | Err(CallError::Closed(_) | CallError::Disconnected(_)) => return,
                    Err(CallError::Timeout(_)) => {}
                    Err(err) => {
                        self.forget(subscription);
                        subscription.queue.push(RawEvent::Closed(refused(&err)));
                        return;
                    }
                }
            }
            self.forget(subscription);
            let timeout = CallError::Timeout(self.config.call_timeout);
            subscription.queue.push(RawEvent::Closed(refused(&timeout)));
        });
        futures_util::future::join_all(binds).await;
    }

    /// Stops binding `subscription` again (it ended or its owner let go).
    pub(crate) fn forget(&self, subscription: &DurableSubscription) {
        subscription.dropped.store(true, Ordering::Release);
        self.subscriptions
            .lock()
            .expect("durable subscriptions lock")
            .remove(&subscription.slot);
    }

    /// Ends `subscription` and waits for the serving end to confirm.
    pub(crate) async fn unsubscribe(
        &self,
        subscription: &DurableSubscription,
    ) -> Result<(), CallError> {
        self.forget(subscription);
        let bound = subscription.bound.lock().await.take();
        match bound.and_then(|bound| Some((bound.session.upgrade()?, bound.key))) {
            Some((session, key)) if !session.is_closed() => session.unsubscribe(key).await,
            _ => Ok(()),
        }
    }

    /// Ends `subscription` without waiting (from a destructor). While it is
    /// being bound, the bind sees it dropped and ends it itself.
    pub(crate) fn unsubscribe_in_background(&self, subscription: &DurableSubscription) {
        self.forget(subscription);
        let Ok(mut bound) = subscription.bound.try_lock() else {
            return;
        };
        if let Some(Bound { session, key }) = bound.take() {
            if let Some(session) = session.upgrade() {
                session.unsubscribe_in_background(&key);
            }
        }
    }
}

/// Forgets a subscription that never got bound.
struct ForgetOnDrop<'a> {
    link: &'a DurableLink,
    subscription: Option<&'a DurableSubscription>,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(subscription) = self.subscription {
            self.link.unsubscribe_in_background(subscription);
        }
    }
}

/// The error that ends a subscription the new connection would not take.
fn refused(err: &CallError) -> ErrorObject {
    match err {
        CallError::Rpc(error) => error.clone(),
        other => ErrorObject::new(
            ErrorCode::CONNECTION_CLOSED,
            format!("could not subscribe again after reconnecting: {other}"),
        ),
    }
}
