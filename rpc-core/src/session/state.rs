//! The state one connection shares between its I/O task, its handlers and
//! every handle to it: the outbound queue, the tables, the end of the line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use serde_json::value::RawValue;
use tokio::sync::{oneshot, Semaphore};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_util::sync::CancellationToken;

use super::event_queue::EventQueue;
use super::outbound::{self, Outbound, OutboundReceiver, OutboundSender, TrySendError};
use super::pending::{CallReply, Forget, PendingCalls, Waiter};
use super::received::{ClientSubscriptionKey, ClientSubscriptions};
use super::served::SubscriptionTable;
use super::{CallError, Closed, ConnectionConfig};
use crate::protocol::{encode, envelope, ErrorCode, ErrorObject, Id};
use crate::telemetry::ConnectionCounters;

#[derive(Debug)]
pub(crate) struct Session {
    outbound: OutboundSender,
    token: CancellationToken,
    closed: OnceLock<Closed>,
    pub(crate) pending: PendingCalls,
    subscriptions: SubscriptionTable,
    pub(crate) client_subscriptions: ClientSubscriptions,
    next_id: AtomicU64,
    call_permits: Semaphore,
    pub(crate) config: Arc<ConnectionConfig>,
    pub(crate) counters: ConnectionCounters,
}

impl Session {
    pub(crate) fn new(config: Arc<ConnectionConfig>) -> (Arc<Session>, OutboundReceiver) {
        let (outbound, receiver) = outbound::channel(config.outbound_capacity);
        let session = Session {
            outbound,
            token: CancellationToken::new(),
            closed: OnceLock::new(),
            pending: PendingCalls::default(),
            subscriptions: SubscriptionTable::new(config.max_subscriptions),
            client_subscriptions: ClientSubscriptions::default(),
            next_id: AtomicU64::new(1),
            call_permits: Semaphore::new(config.max_pending_calls.max(1)),
            config,
            counters: ConnectionCounters::register(),
        };
        (Arc::new(session), receiver)
    }

    /// Cancelled when the connection ends.
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.token
    }

    pub(crate) fn subscriptions(&self) -> &SubscriptionTable {
        &self.subscriptions
    }

    pub(crate) fn closed_reason(&self) -> Closed {
        self.closed
            .get()
            .cloned()
            .unwrap_or_else(|| Closed::new(None, "the connection stopped"))
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get().is_some()
    }

    /// Frames waiting for the I/O task.
    pub(crate) fn queued(&self) -> usize {
        self.outbound.queued()
    }

    /// Queues a text frame, waiting while the queue is full.
    pub(crate) async fn send_frame(&self, frame: String) -> Result<(), Closed> {
        if self.is_closed() {
            return Err(self.closed_reason());
        }
        self.outbound
            .send(Outbound::Text(frame))
            .await
            .map_err(|_| self.closed_reason())
    }

    /// A handle on the outbound queue, for a producer that queues without
    /// waiting when there is room (a subscription sink).
    pub(crate) fn outbound(&self) -> OutboundSender {
        self.outbound.clone()
    }

    pub(crate) fn try_send(&self, message: Outbound) -> bool {
        self.outbound.try_send(message).is_ok()
    }

    /// Queues a close frame behind everything already queued.
    pub(crate) async fn send_close(&self, frame: CloseFrame) {
        let _ = self.outbound.send(Outbound::Close(Box::new(frame))).await;
    }

    /// Marks the connection ended and releases everyone waiting on it.
    pub(crate) fn shut_down(&self, reason: Closed) {
        let _ = self.closed.set(reason);
        let reason = self.closed_reason();
        self.token.cancel();
        self.pending.fail_all(&reason);
        self.subscriptions.close_all();
        self.client_subscriptions.close_all(&reason);
    }

    fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends a call and waits for its answer (bounded by the call timeout).
    pub(crate) async fn call(&self, method: &str, params: Option<&RawValue>) -> CallReply {
        self.call_until(method, params, self.deadline()).await
    }

    /// Sends a call and waits for its answer until `deadline`.
    pub(crate) async fn call_until(
        &self,
        method: &str,
        params: Option<&RawValue>,
        deadline: tokio::time::Instant,
    ) -> CallReply {
        let span = tracing::debug_span!(
            "jsonrpc.client_call",
            otel.name = method,
            otel.kind = "client",
            rpc.system = "jsonrpc",
            rpc.method = method,
            jsonrpc.request.id = tracing::field::Empty,
        );
        let call = async {
            let _permit = self.acquire_call_permit().await?;
            let (reply, answer) = oneshot::channel();
            let id = self.register(Waiter::Call(reply))?;
            tracing::Span::current().record("jsonrpc.request.id", id);
            let _forget = Forget {
                pending: &self.pending,
                id,
            };
            self.send_request(id, method, params).await?;
            self.await_answer(answer, deadline).await?
        };
        tracing::Instrument::instrument(call, span).await
    }

    /// Sends a subscribe call whose items, once it is answered, go to
    /// `queue`; waits for the answer until `deadline`.
    pub(crate) async fn subscribe_into(
        &self,
        method: &str,
        params: Option<&RawValue>,
        unsubscribe: &Arc<str>,
        queue: Arc<EventQueue>,
        deadline: tokio::time::Instant,
    ) -> Result<ClientSubscriptionKey, CallError> {
        let _permit = self.acquire_call_permit().await?;
        let (reply, answer) = oneshot::channel();
        let waiter = Waiter::Subscribe {
            reply,
            unsubscribe: unsubscribe.clone(),
            queue,
        };
        let id = self.register(waiter)?;
        self.send_request(id, method, params).await?;
        self.await_answer(answer, deadline).await?
    }

    /// When an outgoing call started now must have its answer.
    pub(crate) fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.config.call_timeout
    }

    /// Registers a waiter under a fresh id, unless the connection has ended.
    pub(crate) fn register(&self, waiter: Waiter) -> Result<u64, CallError> {
        let id = self.next_id();
        self.pending.insert(id, waiter);
        if self.is_closed() {
            self.pending.remove(id);
            return Err(CallError::Closed(self.closed_reason()));
        }
        Ok(id)
    }

    pub(crate) async fn send_request(
        &self,
        id: u64,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<(), CallError> {
        let frame = encode::request(&Id::from(id), method, params);
        self.send_frame(frame).await.map_err(|closed| {
            self.pending.remove(id);
            CallError::Closed(closed)
        })
    }

    /// Waits for an answer until `deadline`. On timeout the waiter stays
    /// registered: a late subscribe answer then unsubscribes by itself, and
    /// calls drop theirs through [`Forget`].
    pub(crate) async fn await_answer<T>(
        &self,
        answer: oneshot::Receiver<T>,
        deadline: tokio::time::Instant,
    ) -> Result<T, CallError> {
        match tokio::time::timeout_at(deadline, answer).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(CallError::Disconnected(self.closed_reason())),
            Err(_) => Err(CallError::Timeout(self.config.call_timeout)),
        }
    }

    pub(crate) async fn acquire_call_permit(
        &self,
    ) -> Result<tokio::sync::SemaphorePermit<'_>, CallError> {
        self.call_permits
            .acquire()
            .await
            .map_err(|_| CallError::Closed(self.closed_reason()))
    }

    /// Ends a received subscription and waits for the peer to confirm.
    pub(crate) async fn unsubscribe(&self, key: ClientSubscriptionKey) -> Result<(), CallError> {
        self.client_subscriptions.remove(key.id.get());
        let params = envelope::unsubscribe_params(&key.id);
        let answer = self.call(&key.unsubscribe, Some(&params)).await?;
        match serde_json::from_str::<bool>(answer.get()) {
            Ok(true) => Ok(()),
            Ok(false) => Err(CallError::Rpc(ErrorObject::new(
                ErrorCode::UNSUBSCRIBE_REFUSED,
                "the peer refused to unsubscribe",
            ))),
            Err(err) => Err(CallError::Decode(err)),
        }
    }

    /// Ends a received subscription without waiting (from a destructor).
    pub(crate) fn unsubscribe_in_background(self: &Arc<Self>, key: &ClientSubscriptionKey) {
        self.client_subscriptions.remove(key.id.get());
        if self.is_closed() {
            return;
        }
        let Ok(id) = self.register(Waiter::Discard) else {
            return;
        };
        let frame = encode::request(
            &Id::from(id),
            &key.unsubscribe,
            Some(&envelope::unsubscribe_params(&key.id)),
        );
        let frame = match self.outbound.try_send(Outbound::Text(frame)) {
            Ok(()) => return,
            Err(TrySendError::Full(Outbound::Text(frame))) => frame,
            Err(_) => {
                self.pending.remove(id);
                return;
            }
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let session = self.clone();
            runtime.spawn(async move {
                if session.send_frame(frame).await.is_err() {
                    session.pending.remove(id);
                }
            });
        } else {
            self.pending.remove(id);
            tracing::warn!(id = %key.id.get(), "could not send unsubscribe outside a runtime");
        }
    }
}
