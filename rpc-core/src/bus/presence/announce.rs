//! What a presence publishes on a topic when a member joins or leaves.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::Member;
use crate::bus::BusError;

type Make = dyn Fn(&Member) -> Result<Box<RawValue>, serde_json::Error> + Send + Sync;

/// Makes the items a presence publishes on a topic for joins and leaves,
/// so they arrive as the topic's own item type.
///
/// The default publishes `{"presence":"joined","name":…,"info":…}` and
/// `{"presence":"left",…}`.
///
/// # Examples
///
/// A room whose events are a tagged enum:
///
/// ```
/// use serde::Serialize;
/// use wirecall::bus::presence::Announce;
///
/// #[derive(Serialize)]
/// #[serde(tag = "kind", rename_all = "snake_case")]
/// enum RoomEvent {
///     Joined { name: String },
///     Left { name: String },
/// }
///
/// let announce = Announce::new(
///     |member| RoomEvent::Joined { name: member.name.clone() },
///     |member| RoomEvent::Left { name: member.name.clone() },
/// );
/// # let _ = announce;
/// ```
#[derive(Clone)]
pub struct Announce {
    joined: Arc<Make>,
    left: Arc<Make>,
}

impl Announce {
    /// Announces joins with `joined` and leaves with `left`.
    pub fn new<T, J, L>(joined: J, left: L) -> Announce
    where
        T: Serialize,
        J: Fn(&Member) -> T + Send + Sync + 'static,
        L: Fn(&Member) -> T + Send + Sync + 'static,
    {
        Announce {
            joined: Arc::new(move |member| serde_json::value::to_raw_value(&joined(member))),
            left: Arc::new(move |member| serde_json::value::to_raw_value(&left(member))),
        }
    }

    pub(crate) fn joined(&self, member: &Member) -> Result<Arc<RawValue>, BusError> {
        (self.joined)(member)
            .map(Arc::from)
            .map_err(BusError::Serialize)
    }

    pub(crate) fn left(&self, member: &Member) -> Result<Arc<RawValue>, BusError> {
        (self.left)(member)
            .map(Arc::from)
            .map_err(BusError::Serialize)
    }
}

impl Default for Announce {
    fn default() -> Announce {
        Announce::new(
            |member| told("joined", member),
            |member| told("left", member),
        )
    }
}

fn told(what: &str, member: &Member) -> serde_json::Value {
    serde_json::json!({ "presence": what, "name": member.name, "info": member.info })
}

impl fmt::Debug for Announce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Announce").finish_non_exhaustive()
    }
}
