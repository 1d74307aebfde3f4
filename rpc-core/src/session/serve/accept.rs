//! Accepting a subscribe call: the call as the router hands it over, and
//! what accepting it does — an id, a place in the connection's table, the
//! answer, and the forwarder that moves the sink's items out.

use std::sync::Arc;

use serde_json::value::RawValue;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::forwarder::forward;
use super::sink::SinkShared;
use super::sink_config::SinkConfig;
use super::sink_error::AcceptError;
use crate::protocol::{ErrorObject, Position};
use crate::session::Session;

/// The reply to an accepted subscribe call.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) id_json: Box<RawValue>,
    pub(crate) release: oneshot::Sender<()>,
}

/// A subscribe call not yet answered, as the router hands it over.
#[derive(Debug)]
pub(crate) struct PendingRaw {
    pub(crate) responder: oneshot::Sender<Result<Accepted, ErrorObject>>,
    pub(crate) session: Arc<Session>,
    pub(crate) notification: Arc<str>,
    pub(crate) config: SinkConfig,
    pub(crate) token: CancellationToken,
    /// Where a resuming subscribe call asks to carry on from.
    pub(crate) resume_from: Option<Position>,
}

/// Creates the subscription, registers it with the connection, answers the
/// call and starts its forwarder.
pub(crate) fn accept(raw: PendingRaw) -> Result<Arc<SinkShared>, AcceptError> {
    let (shared, unanswered) = prepare(raw)?;
    unanswered.answer()?;
    Ok(shared)
}

/// Creates the subscription and registers it with the connection, without
/// answering the call yet: what is sent meanwhile waits in its buffer, and
/// goes out after the answer.
pub(crate) fn prepare(raw: PendingRaw) -> Result<(Arc<SinkShared>, Unanswered), AcceptError> {
    let PendingRaw {
        responder,
        session,
        notification,
        config,
        token,
        resume_from,
    } = raw;
    let id = match session.subscriptions().next_id() {
        Ok(id) => id,
        Err(err) => {
            let _ = responder.send(Err(err.to_error_object()));
            return Err(err);
        }
    };
    let resuming = resume_from.is_some();
    let shared = Arc::new(SinkShared::new(
        id,
        notification,
        config,
        (
            session.outbound(),
            session.counters.clone(),
            session.buffered_bytes.clone(),
        ),
        token,
        resuming,
    ));
    // Another subscribe may have taken the last room since `next_id`: the
    // call is answered with the limit error, never left unanswered.
    if let Err(err) = session.subscriptions().insert(shared.clone()) {
        let _ = responder.send(Err(err.to_error_object()));
        return Err(err);
    }
    let unanswered = Unanswered {
        responder: Some(responder),
        session,
        shared: shared.clone(),
    };
    Ok((shared, unanswered))
}

/// A subscription registered with its connection whose call is not
/// answered yet. Dropped unanswered, it leaves the connection's table and
/// the call is answered with an internal error.
pub(crate) struct Unanswered {
    responder: Option<oneshot::Sender<Result<Accepted, ErrorObject>>>,
    session: Arc<Session>,
    shared: Arc<SinkShared>,
}

impl Unanswered {
    /// Answers the call with the subscription's id and starts the forwarder.
    pub(crate) fn answer(mut self) -> Result<(), AcceptError> {
        let responder = self.responder.take().expect("answered once");
        let (release, released) = oneshot::channel();
        let accepted = Accepted {
            id_json: self.shared.id.clone(),
            release,
        };
        if responder.send(Ok(accepted)).is_err() {
            self.forget();
            return Err(AcceptError::Closed);
        }
        let forwarded = self.shared.clone();
        let session = self.session.clone();
        crate::rt::spawn(async move {
            forward(&forwarded, released).await;
            session
                .subscriptions()
                .remove(forwarded.id.get(), &forwarded.notification);
        });
        Ok(())
    }

    /// Answers the call with `error` instead: no subscription is made.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn refuse(mut self, error: ErrorObject) {
        if let Some(responder) = self.responder.take() {
            let _ = responder.send(Err(error));
        }
        self.forget();
    }

    fn forget(&self) {
        self.shared.finish_quietly();
        self.session
            .subscriptions()
            .remove(self.shared.id.get(), &self.shared.notification);
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        if self.responder.take().is_some() {
            self.forget();
        }
    }
}

impl std::fmt::Debug for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unanswered")
            .field("id", &self.shared.id)
            .finish_non_exhaustive()
    }
}
