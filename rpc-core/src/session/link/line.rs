//! What a peer reaches: one connection for its whole life (a server's peer,
//! a plain client) or a line of them (a reconnecting client). Every
//! difference between the two is decided here, so the handles above never
//! ask which they have.

use std::sync::Arc;

use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::connection_state::ConnectionState;
use super::durable::DurableLink;
use super::held::HeldSubscription;
use crate::protocol::{envelope, Position};
use crate::session::call::{batch, At, Batch, BatchResponse, CallReply, EventQueue};
use crate::session::{CallError, Closed, ConnectionConfig, Outbound, Session};

/// One connection, or connections one after another.
#[derive(Debug, Clone)]
pub(crate) enum Link {
    /// One connection for its whole life.
    Fixed(Arc<Session>),
    /// Connections one after another (a reconnecting client).
    Durable(Arc<DurableLink>),
}

impl Link {
    /// The one session of a fixed link.
    pub(crate) fn fixed_session(&self) -> Option<&Arc<Session>> {
        match self {
            Link::Fixed(session) => Some(session),
            Link::Durable(_) => None,
        }
    }

    /// The connection's limits and layers.
    pub(crate) fn config(&self) -> &ConnectionConfig {
        match self {
            Link::Fixed(session) => &session.config,
            Link::Durable(link) => &link.config,
        }
    }

    /// The session in use now, if any.
    pub(crate) fn current(&self) -> Option<Arc<Session>> {
        match self {
            Link::Fixed(session) => Some(session.clone()),
            Link::Durable(link) => link.current(),
        }
    }

    /// Sends a call and waits for its answer. On a durable link, a call
    /// lost in flight is sent again only if `idempotent`.
    pub(crate) async fn call(
        &self,
        method: &str,
        params: Option<&RawValue>,
        idempotent: bool,
    ) -> CallReply {
        match self {
            Link::Fixed(session) => session.call(method, params).await,
            Link::Durable(link) => link.call(method, params, idempotent).await,
        }
    }

    /// Queues a frame on the live connection (a durable link waits for one).
    pub(crate) async fn send_frame(&self, frame: String) -> Result<(), CallError> {
        match self {
            Link::Fixed(session) => session.send_frame(frame).await.map_err(CallError::Closed),
            Link::Durable(link) => link.send_frame(&frame).await,
        }
    }

    /// Sends `batch` in one frame and waits for every answer. A durable
    /// link sends it on the next connection if it never left.
    pub(crate) async fn batch(&self, batch: &Batch) -> Result<BatchResponse, CallError> {
        match self {
            Link::Fixed(session) => batch::send(session, batch, session.deadline()).await,
            Link::Durable(link) => {
                let deadline = link.deadline();
                loop {
                    let session = link.session_until(deadline).await?;
                    match batch::send(&session, batch, deadline).await {
                        Err(CallError::Closed(_)) => crate::rt::yield_now().await,
                        outcome => return outcome,
                    }
                }
            }
        }
    }

    /// Subscribes, from `since` when given, and hands back the queue its
    /// events arrive on with what ends it.
    pub(crate) async fn subscribe(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        unsubscribe: &str,
        since: Option<&Position>,
    ) -> Result<(Arc<EventQueue>, HeldSubscription), CallError> {
        match self {
            Link::Fixed(session) => {
                let resume = since.map(|since| {
                    envelope::resume_params(method, params.as_deref(), &since.epoch, since.offset)
                });
                let (method, params) = match &resume {
                    Some(resume) => (envelope::RESUME_METHOD, Some(&**resume)),
                    None => (method, params.as_deref()),
                };
                let queue = Arc::new(EventQueue::new(session.config.subscription_buffer));
                let unsubscribe = Arc::from(unsubscribe);
                let key = session
                    .subscribe_into(
                        method,
                        params,
                        &unsubscribe,
                        queue.clone(),
                        session.deadline(),
                    )
                    .await?;
                Ok((queue, HeldSubscription::Fixed(session.clone(), key)))
            }
            Link::Durable(link) => {
                let since = since.map(|since| At {
                    epoch: since.epoch.clone(),
                    offset: since.offset,
                });
                let held = link.subscribe(method, params, unsubscribe, since).await?;
                Ok((
                    held.queue.clone(),
                    HeldSubscription::Durable(link.clone(), held),
                ))
            }
        }
    }

    /// Closes with code 1000 after what is queued and waits for the end; a
    /// durable link stops reconnecting.
    pub(crate) async fn close(&self) {
        match self {
            Link::Fixed(session) => {
                if !session.is_closed() {
                    session.send_close(normal_close()).await;
                }
                session.token().cancelled().await;
            }
            Link::Durable(link) => {
                link.stop();
                link.gone().await;
            }
        }
    }

    /// Waits for the end (a durable link's: when it stops reconnecting).
    pub(crate) async fn closed(&self) -> Closed {
        match self {
            Link::Fixed(session) => {
                session.token().cancelled().await;
                session.closed_reason()
            }
            Link::Durable(link) => link.gone().await,
        }
    }

    /// Starts closing without waiting.
    pub(crate) fn close_in_background(&self) {
        match self {
            Link::Fixed(session) => {
                if !session.try_send(Outbound::Close(Box::new(normal_close()))) {
                    session.shut_down(Closed::new(Some(1000), "closed by this end"));
                }
            }
            Link::Durable(link) => link.stop(),
        }
    }

    /// Whether it has ended for good.
    pub(crate) fn is_closed(&self) -> bool {
        match self {
            Link::Fixed(session) => session.is_closed(),
            Link::Durable(link) => link.is_gone(),
        }
    }

    pub(crate) fn connection_state(&self) -> ConnectionState {
        match self {
            Link::Fixed(session) if session.is_closed() => {
                ConnectionState::Closed(session.closed_reason())
            }
            Link::Fixed(_) => ConnectionState::Connected,
            Link::Durable(link) => link.connection_state(),
        }
    }
}

/// The close frame this end sends when it closes.
pub(crate) fn normal_close() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Normal,
        reason: "closed by this end".into(),
    }
}
