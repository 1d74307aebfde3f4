//! The task that keeps a reconnecting client connected: it waits for the
//! connection to drop, dials again with backoff, binds every subscription
//! to the new connection, and only then lets waiting calls through.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;

use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::connection_state::ConnectionEvent;
use super::durable::DurableLink;
use super::policy::ReconnectPolicy;
use crate::session::{Closed, Session};

/// Keeps `link` connected, starting from `session`, until this end closes
/// it or `policy` gives up. `start` runs the engine over a dialed socket.
pub(crate) async fn keep_connected<S, D, F, E>(
    link: Arc<DurableLink>,
    mut session: Arc<Session>,
    policy: ReconnectPolicy,
    mut dial: D,
    start: impl Fn(S) -> Arc<Session>,
) where
    D: FnMut() -> F,
    F: Future<Output = Result<S, E>>,
    E: Display,
{
    let stop = link.stop_token().clone();
    // Whatever ends this task — a panicking event hook, a runtime shutting
    // down — the link is marked gone, so no caller waits on it forever.
    let _gone = GoneOnDrop(&link);
    loop {
        tokio::select! {
            () = session.token().cancelled() => {}
            () = stop.cancelled() => {
                close(&session).await;
                link.set_gone(&closed_here());
                return;
            }
        }
        let reason = session.closed_reason();
        link.set_down(1);
        link.emit(&ConnectionEvent::Disconnected(reason.clone()));
        // Attempts count until a connection stays up through its rebind; a
        // server that accepts and drops at once does not reset the backoff.
        let mut attempt = 0;
        session = loop {
            attempt += 1;
            if !policy.allows(attempt) {
                link.set_gone(&reason);
                link.emit(&ConnectionEvent::GaveUp(reason));
                return;
            }
            let delay = policy.delay(attempt);
            link.set_down(attempt);
            link.emit(&ConnectionEvent::Reconnecting { attempt, delay });
            let dialed = tokio::select! {
                dialed = async {
                    crate::rt::sleep(delay).await;
                    dial().await.map_err(|err| err.to_string())
                } => dialed,
                () = stop.cancelled() => {
                    link.set_gone(&closed_here());
                    return;
                }
            };
            let socket = match dialed {
                Ok(socket) => socket,
                Err(error) => {
                    link.emit(&ConnectionEvent::AttemptFailed {
                        attempt,
                        error: error.into(),
                    });
                    continue;
                }
            };
            let fresh = start(socket);
            tokio::select! {
                () = link.rebind_all(&fresh) => {}
                () = stop.cancelled() => {
                    close(&fresh).await;
                    link.set_gone(&closed_here());
                    return;
                }
            }
            if !fresh.is_closed() {
                break fresh;
            }
            link.emit(&ConnectionEvent::AttemptFailed {
                attempt,
                error: fresh.closed_reason().to_string().into(),
            });
        };
        link.set_up(session.clone());
        link.emit(&ConnectionEvent::Reconnected { attempts: attempt });
    }
}

/// Marks the link gone when the reconnect task ends in any way.
struct GoneOnDrop<'a>(&'a DurableLink);

impl Drop for GoneOnDrop<'_> {
    fn drop(&mut self) {
        if !self.0.is_gone() {
            self.0
                .set_gone(&Closed::new(None, "the reconnecting task stopped"));
        }
    }
}

/// Closes `session` with code 1000 and waits for its end.
async fn close(session: &Session) {
    if !session.is_closed() {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "closed by this end".into(),
        };
        session.send_close(frame).await;
    }
    session.token().cancelled().await;
}

fn closed_here() -> Closed {
    Closed::new(Some(1000), "closed by this end")
}
