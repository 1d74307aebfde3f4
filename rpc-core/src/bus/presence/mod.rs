//! Who is in a topic: members with a small info value, claimed by name,
//! and their joins and leaves told to the topic's subscribers.
//!
//! A [`Presence`] keeps, per topic, each member's name, who holds it (a
//! key the holder chooses, so it can claim its name again after a
//! reconnect, on any node) and its info. A name is claimed once per topic:
//! a join of a name another holder has is answered [`Joined::Taken`]. Each
//! join and leave is published on the topic itself, through the presence's
//! bus, as the item its [`Announce`] makes: the topic's subscribers see it
//! once, in order with everything else on the topic, and a subscriber that
//! resumes gets the ones it missed.
//!
//! [`InProcessPresence`] serves one process. [`RedisPresence`] (feature
//! `redis`) is shared by every node on one Redis: members are kept there
//! with an expiry that their node refreshes, so the members of a node that
//! dies leave by themselves within the time to live, and their leaves are
//! told by whichever node notices first.

mod announce;
mod in_process;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

#[cfg(feature = "redis")]
pub use super::redis::RedisPresence;
pub use announce::Announce;
pub use in_process::InProcessPresence;

use super::BusError;

/// One member of a topic.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// Its name, unique in the topic.
    pub name: String,
    /// What its holder said about it when joining (JSON).
    pub info: Arc<RawValue>,
}

/// How a join went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Joined {
    /// The name was free: the member is in, and its join was told.
    New,
    /// The same holder had the name already: its info is updated, and no
    /// join is told again.
    Again,
    /// Another holder has the name: nothing changed.
    Taken,
}

/// A presence call under way.
pub type PresenceCall<'a, T> = Pin<Box<dyn Future<Output = Result<T, BusError>> + Send + 'a>>;

/// Members of topics, claimed by name, told as they come and go.
pub trait Presence: Send + Sync + 'static {
    /// Claims `name` in `topic` for `holder` with `info`, and tells the
    /// topic when the member is new.
    ///
    /// # Errors
    ///
    /// [`BusError::Unavailable`] (or `Unconfirmed`) when the presence's
    /// store or bus does not answer in time; the join then leaves nothing
    /// behind: the name is not taken and no join is told.
    fn join<'a>(
        &'a self,
        topic: &'a str,
        name: &'a str,
        holder: &'a str,
        info: &'a RawValue,
    ) -> PresenceCall<'a, Joined>;

    /// Gives up `name` in `topic` if `holder` has it, and tells the topic;
    /// answers whether it had it.
    ///
    /// # Errors
    ///
    /// As [`Presence::join`].
    fn leave<'a>(
        &'a self,
        topic: &'a str,
        name: &'a str,
        holder: &'a str,
    ) -> PresenceCall<'a, bool>;

    /// The members of `topic`, by name.
    ///
    /// # Errors
    ///
    /// As [`Presence::join`].
    fn members<'a>(&'a self, topic: &'a str) -> PresenceCall<'a, Vec<Member>>;
}
