//! What a reconnecting client tells about its connection: where it stands
//! now, and each change as it happens.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::session::Closed;

/// Where a client's connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Connected: calls go out at once.
    Connected,
    /// The connection dropped and the client is trying again; calls wait
    /// (up to their timeout). `attempt` counts from 1.
    Reconnecting {
        /// The attempt under way or next.
        attempt: u32,
    },
    /// Closed for good, by this end or because reconnecting gave up.
    Closed(Closed),
}

/// One change of a reconnecting client's connection, in the order they
/// happen (see `ClientBuilder::on_connection_event`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The connection dropped, for this reason.
    Disconnected(Closed),
    /// Attempt `attempt` (from 1) starts after `delay`.
    Reconnecting {
        /// Which attempt, from 1.
        attempt: u32,
        /// The wait before it (backoff with jitter).
        delay: Duration,
    },
    /// Attempt `attempt` failed, for this reason.
    AttemptFailed {
        /// Which attempt, from 1.
        attempt: u32,
        /// Why, in words (a refused upgrade, a timeout, …).
        error: Arc<str>,
    },
    /// Connected again after `attempts` attempts; every subscription has
    /// been bound to the new connection.
    Reconnected {
        /// How many attempts it took.
        attempts: u32,
    },
    /// No more attempts: the client is closed, its calls and subscriptions
    /// end with this reason.
    GaveUp(Closed),
}

impl fmt::Display for ConnectionEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionEvent::Disconnected(why) => write!(f, "disconnected: {why}"),
            ConnectionEvent::Reconnecting { attempt, delay } => {
                write!(f, "reconnecting (attempt {attempt}) in {delay:?}")
            }
            ConnectionEvent::AttemptFailed { attempt, error } => {
                write!(f, "attempt {attempt} failed: {error}")
            }
            ConnectionEvent::Reconnected { attempts } => {
                write!(f, "reconnected after {attempts} attempt(s)")
            }
            ConnectionEvent::GaveUp(why) => write!(f, "gave up reconnecting: {why}"),
        }
    }
}

/// Called with each [`ConnectionEvent`], on the task that reconnects.
pub(crate) type EventHook = Arc<dyn Fn(&ConnectionEvent) + Send + Sync>;
