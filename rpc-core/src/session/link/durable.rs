//! A line of connections that outlives each of them: what a reconnecting
//! client's [`Peer`](crate::session::Peer) holds. The io layer's reconnect task puts
//! a new session in as each connection drops. Here calls wait for the next
//! connection, calls lost in flight are sent again only when idempotent,
//! and received subscriptions are bound again to every new connection,
//! resuming after the last position they delivered (`resubscribe.rs`).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::rt::Instant;
use serde_json::value::RawValue;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::connection_state::{ConnectionEvent, ConnectionState, EventHook};
use crate::protocol::{ErrorCode, ErrorObject};
use crate::session::call::{CallReply, ClientSubscriptionKey, EventQueue, RawEvent};
use crate::session::{CallError, Closed, ConnectionConfig, Session};

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
    pub(super) subscriptions: Mutex<HashMap<u64, Arc<DurableSubscription>>>,
    pub(super) next_slot: AtomicU64,
    /// Cancelled when this end closes the client: reconnecting stops.
    stop: CancellationToken,
    on_event: Option<EventHook>,
}

/// A received subscription that is bound again on each new connection.
#[derive(Debug)]
pub(crate) struct DurableSubscription {
    pub(super) slot: u64,
    pub(super) method: Box<str>,
    pub(super) params: Option<Box<RawValue>>,
    pub(super) unsubscribe: Arc<str>,
    pub(crate) queue: Arc<EventQueue>,
    /// The connection serving it now and the id it gave. Held across a
    /// bind, so the subscribing call and the reconnect task never bind the
    /// same subscription twice.
    pub(super) bound: tokio::sync::Mutex<Option<Bound>>,
    /// Unsubscribed by its owner: not bound again.
    pub(super) dropped: AtomicBool,
}

#[derive(Debug)]
pub(super) struct Bound {
    pub(super) session: Weak<Session>,
    pub(super) key: ClientSubscriptionKey,
}

impl Bound {
    pub(super) fn is_on(&self, session: &Arc<Session>) -> bool {
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
            match crate::rt::timeout_at(deadline, state.changed()).await {
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
            crate::rt::yield_now().await;
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
            crate::rt::yield_now().await;
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

fn gone() -> Closed {
    Closed::new(None, "the client is gone")
}
