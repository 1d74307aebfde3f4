//! A line of connections that outlives each of them: what a reconnecting
//! client's [`Peer`](super::Peer) holds. The io layer's reconnect task puts
//! a new session in as each connection drops. Here calls wait for the next
//! connection, calls lost in flight are sent again only when idempotent,
//! and received subscriptions are bound again to every new connection,
//! resuming after the last position they delivered.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use serde_json::value::RawValue;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::event_queue::{At, EventQueue, RawEvent};
use super::link_state::{ConnectionEvent, ConnectionState, EventHook};
use super::pending::CallReply;
use super::received::ClientSubscriptionKey;
use super::{CallError, Closed, ConnectionConfig, Session};
use crate::protocol::{envelope, ErrorCode, ErrorObject};

/// Call timeouts a subscription's rebind may take before it is given up.
const REBIND_TRIES: usize = 3;

/// The connection a durable link has right now.
#[derive(Debug, Clone)]
enum LinkState {
    Up(Arc<Session>),
    Down { attempt: u32 },
    Gone(Closed),
}

/// Connections one after another, as one line.
pub(crate) struct DurableLink {
    state: watch::Sender<LinkState>,
    pub(crate) config: Arc<ConnectionConfig>,
    subscriptions: Mutex<HashMap<u64, Arc<DurableSubscription>>>,
    next_slot: AtomicU64,
    /// Cancelled when this end closes the client: reconnecting stops.
    stop: CancellationToken,
    on_event: Option<EventHook>,
}

/// A received subscription that is bound again on each new connection.
#[derive(Debug)]
pub(crate) struct DurableSubscription {
    slot: u64,
    method: Box<str>,
    params: Option<Box<RawValue>>,
    unsubscribe: Arc<str>,
    pub(crate) queue: Arc<EventQueue>,
    /// The connection serving it now and the id it gave. Held across a
    /// bind, so the subscribing call and the reconnect task never bind the
    /// same subscription twice.
    bound: tokio::sync::Mutex<Option<Bound>>,
    /// Unsubscribed by its owner: not bound again.
    dropped: AtomicBool,
}

#[derive(Debug)]
struct Bound {
    session: Weak<Session>,
    key: ClientSubscriptionKey,
}

impl Bound {
    fn is_on(&self, session: &Arc<Session>) -> bool {
        std::ptr::eq(self.session.as_ptr(), Arc::as_ptr(session))
    }
}

impl DurableSubscription {
    /// The id its current connection gave it, as JSON text.
    pub(crate) fn id(&self) -> Option<String> {
        let bound = self.bound.try_lock().ok()?;
        bound.as_ref().map(|bound| bound.key.id.get().to_owned())
    }
}

impl DurableLink {
    pub(crate) fn new(
        config: Arc<ConnectionConfig>,
        first: Arc<Session>,
        on_event: Option<EventHook>,
    ) -> Arc<DurableLink> {
        Arc::new(DurableLink {
            state: watch::Sender::new(LinkState::Up(first)),
            config,
            subscriptions: Mutex::default(),
            next_slot: AtomicU64::new(1),
            stop: CancellationToken::new(),
            on_event,
        })
    }

    /// The session in use, if connected.
    pub(crate) fn current(&self) -> Option<Arc<Session>> {
        match &*self.state.borrow() {
            LinkState::Up(session) => Some(session.clone()),
            _ => None,
        }
    }

    pub(crate) fn connection_state(&self) -> ConnectionState {
        match &*self.state.borrow() {
            LinkState::Up(_) => ConnectionState::Connected,
            LinkState::Down { attempt } => ConnectionState::Reconnecting { attempt: *attempt },
            LinkState::Gone(closed) => ConnectionState::Closed(closed.clone()),
        }
    }

    /// The live session, waiting for one while reconnecting, until `deadline`.
    pub(crate) async fn session_until(&self, deadline: Instant) -> Result<Arc<Session>, CallError> {
        let mut state = self.state.subscribe();
        loop {
            match &*state.borrow_and_update() {
                LinkState::Up(session) if !session.is_closed() => return Ok(session.clone()),
                LinkState::Gone(closed) => return Err(CallError::Closed(closed.clone())),
                _ => {}
            }
            match tokio::time::timeout_at(deadline, state.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(CallError::Closed(gone())),
                Err(_) => return Err(CallError::Timeout(self.config.call_timeout)),
            }
        }
    }

    /// When a call started now must be answered.
    pub(crate) fn deadline(&self) -> Instant {
        Instant::now() + self.config.call_timeout
    }

    /// Calls `method` on whichever connection is live, within one call
    /// timeout in all. A call that never reached the wire waits for the next
    /// connection; one lost in flight is sent again only if `idempotent`.
    pub(crate) async fn call(
        &self,
        method: &str,
        params: Option<&RawValue>,
        idempotent: bool,
    ) -> CallReply {
        let deadline = self.deadline();
        loop {
            let session = self.session_until(deadline).await?;
            match session.call_until(method, params, deadline).await {
                Err(CallError::Closed(_)) => {}
                Err(CallError::Disconnected(_)) if idempotent => {}
                outcome => return outcome,
            }
            // The connection is ending; let the reconnect task see it.
            tokio::task::yield_now().await;
        }
    }

    /// Queues `frame` on whichever connection is live.
    pub(crate) async fn send_frame(&self, frame: &str) -> Result<(), CallError> {
        let deadline = self.deadline();
        loop {
            let session = self.session_until(deadline).await?;
            if session.send_frame(frame.to_owned()).await.is_ok() {
                return Ok(());
            }
            tokio::task::yield_now().await;
        }
    }

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
                    tokio::task::yield_now().await;
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

    /// The connection dropped; attempt `attempt` is next.
    pub(crate) fn set_down(&self, attempt: u32) {
        self.state.send_replace(LinkState::Down { attempt });
    }

    /// `session` is live; waiting calls go out on it.
    pub(crate) fn set_up(&self, session: Arc<Session>) {
        self.state.send_replace(LinkState::Up(session));
    }

    /// No more connections: waiting calls fail and every subscription
    /// ends with `closed`.
    pub(crate) fn set_gone(&self, closed: &Closed) {
        self.state.send_replace(LinkState::Gone(closed.clone()));
        let subscriptions: Vec<_> = self
            .subscriptions
            .lock()
            .expect("durable subscriptions lock")
            .drain()
            .map(|(_, subscription)| subscription)
            .collect();
        for subscription in subscriptions {
            subscription.dropped.store(true, Ordering::Release);
            subscription.queue.push(RawEvent::Closed(ErrorObject::new(
                ErrorCode::CONNECTION_CLOSED,
                closed.to_string(),
            )));
        }
    }

    pub(crate) fn is_gone(&self) -> bool {
        matches!(&*self.state.borrow(), LinkState::Gone(_))
    }

    /// Waits until the line has no more connections, and says why.
    pub(crate) async fn gone(&self) -> Closed {
        let mut state = self.state.subscribe();
        loop {
            if let LinkState::Gone(closed) = &*state.borrow_and_update() {
                return closed.clone();
            }
            if state.changed().await.is_err() {
                return gone();
            }
        }
    }

    /// Asks the reconnect task to close the connection and stop.
    pub(crate) fn stop(&self) {
        self.stop.cancel();
    }

    /// Cancelled once this end has closed the client.
    pub(crate) fn stop_token(&self) -> &CancellationToken {
        &self.stop
    }

    /// Tells the user's hook, if any.
    pub(crate) fn emit(&self, event: &ConnectionEvent) {
        tracing::debug!(%event, "connection");
        if let Some(hook) = &self.on_event {
            hook(event);
        }
    }

    /// Subscriptions kept across connections right now.
    pub(crate) fn subscription_count(&self) -> usize {
        self.subscriptions
            .lock()
            .expect("durable subscriptions lock")
            .len()
    }
}

impl fmt::Debug for DurableLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DurableLink")
            .field("state", &*self.state.borrow())
            .field("subscriptions", &self.subscription_count())
            .finish_non_exhaustive()
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

fn gone() -> Closed {
    Closed::new(None, "the client is gone")
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
