//! Calls this end sends on one connection: each under a fresh id, bounded
//! by the connection's permits and the call timeout, answered through the
//! pending table; and ending the subscriptions it receives.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::value::RawValue;
use tokio::sync::oneshot;

use super::event_queue::EventQueue;
use super::pending::{CallReply, Forget, Waiter};
use super::received::ClientSubscriptionKey;
use crate::protocol::{encode, envelope, ErrorCode, ErrorObject, Id};
use crate::session::{CallError, Outbound, Session, TrySendError};

impl Session {
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
        deadline: crate::rt::Instant,
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
        deadline: crate::rt::Instant,
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
    pub(crate) fn deadline(&self) -> crate::rt::Instant {
        crate::rt::Instant::now() + self.config.call_timeout
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
        deadline: crate::rt::Instant,
    ) -> Result<T, CallError> {
        match crate::rt::timeout_at(deadline, answer).await {
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
        let frame = match self.try_queue(Outbound::Text(frame)) {
            Ok(()) => return,
            Err(TrySendError::Full(Outbound::Text(frame))) => frame,
            Err(_) => {
                self.pending.remove(id);
                return;
            }
        };
        let session = self.clone();
        let sending = async move {
            if session.send_frame(frame).await.is_err() {
                session.pending.remove(id);
            }
        };
        if !crate::rt::try_spawn(sending) {
            self.pending.remove(id);
            tracing::warn!(id = %key.id.get(), "could not send unsubscribe outside a runtime");
        }
    }
}
