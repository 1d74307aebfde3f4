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

/// Creates the subscription, registers it with the connection, and starts
/// its forwarder.
pub(crate) fn accept(raw: PendingRaw) -> Result<Arc<SinkShared>, AcceptError> {
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
    let (release, released) = oneshot::channel();
    let accepted = Accepted {
        id_json: shared.id.clone(),
        release,
    };
    if responder.send(Ok(accepted)).is_err() {
        session
            .subscriptions()
            .remove(shared.id.get(), &shared.notification);
        return Err(AcceptError::Closed);
    }
    let forwarded = shared.clone();
    crate::rt::spawn(async move {
        forward(&forwarded, released).await;
        session
            .subscriptions()
            .remove(forwarded.id.get(), &forwarded.notification);
    });
    Ok(shared)
}
