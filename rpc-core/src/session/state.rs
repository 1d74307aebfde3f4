//! The state one connection shares between its I/O task, its handlers and
//! every handle to it: the outbound queue, the tables, the end of the line.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_util::sync::CancellationToken;

use super::call::{ClientSubscriptions, PendingCalls};
use super::outbound::{self, Outbound, OutboundReceiver, OutboundSender, TrySendError};
use super::serve::{ByteBudget, SubscriptionTable};
use super::{Closed, ConnectionConfig};
use crate::telemetry::ConnectionCounters;

#[derive(Debug)]
pub(crate) struct Session {
    outbound: OutboundSender,
    token: CancellationToken,
    closed: OnceLock<Closed>,
    // The tables: the session's own, reached from its rooms only.
    pub(super) pending: PendingCalls,
    subscriptions: SubscriptionTable,
    /// What the served subscriptions' buffers hold together.
    pub(super) buffered_bytes: Arc<ByteBudget>,
    pub(super) client_subscriptions: ClientSubscriptions,
    pub(super) next_id: AtomicU64,
    pub(super) call_permits: Semaphore,
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
            buffered_bytes: Arc::new(ByteBudget::new(config.subscription_bytes)),
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

    /// Outgoing calls waiting for an answer.
    pub(crate) fn pending_calls(&self) -> usize {
        self.pending.len()
    }

    pub(crate) fn try_send(&self, message: Outbound) -> bool {
        self.try_queue(message).is_ok()
    }

    /// Queues `message` if there is room; hands it back when the queue is full.
    pub(crate) fn try_queue(&self, message: Outbound) -> Result<(), TrySendError> {
        self.outbound.try_send(message)
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
}
