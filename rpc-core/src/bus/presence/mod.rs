//! Who is in a topic: members with a small info value, claimed by name,
//! and their joins and leaves told to the topic's subscribers.
//!
//! A [`Presence`] keeps, per topic, each member's name, who holds it (a
//! key the holder chooses, so it can claim its name again after a
//! reconnect, on any node) and its info. A name is claimed once per topic:
//! a join of a name another holder has is answered [`Joined::Taken`]. A
//! join answers a [`Claim`]; leaving takes it, so only the latest join of
//! a name can give it up. Each
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
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Joined {
    /// The name was free: the member is in, and its join was told.
    New(Claim),
    /// The same holder had the name already (from another connection, say):
    /// it now holds it through this join, its info is updated, and no join
    /// is told again. An earlier join's claim no longer leaves.
    Again(Claim),
    /// Another holder has the name: nothing changed.
    Taken,
}

impl Joined {
    /// The claim, unless the name was taken.
    pub fn claim(&self) -> Option<&Claim> {
        match self {
            Joined::New(claim) | Joined::Again(claim) => Some(claim),
            Joined::Taken => None,
        }
    }
}

/// What one join holds: give it to [`Presence::leave`]. Only the latest
/// join of a name holds it, so a connection that ends after its holder
/// joined again elsewhere does not take the name away.
#[derive(Debug, Clone)]
pub struct Claim {
    token: Arc<std::sync::Mutex<String>>,
}

impl PartialEq for Claim {
    fn eq(&self, other: &Claim) -> bool {
        Arc::ptr_eq(&self.token, &other.token) || self.token() == other.token()
    }
}

impl Eq for Claim {}

impl Claim {
    pub(crate) fn new(token: String) -> Claim {
        Claim {
            token: Arc::new(std::sync::Mutex::new(token)),
        }
    }

    /// The token of the join that holds the name now.
    pub(crate) fn token(&self) -> String {
        self.token.lock().expect("claim lock").clone()
    }

    /// The name is held again, by a join made for this claim.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn renew(&self, token: String) {
        *self.token.lock().expect("claim lock") = token;
    }
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
    /// [`BusError::Unavailable`] when the presence's store or bus does not
    /// answer in time. The join then leaves nothing behind: the name is not
    /// held, and if its join was told after all, so is its leave.
    fn join<'a>(
        &'a self,
        topic: &'a str,
        name: &'a str,
        holder: &'a str,
        info: &'a RawValue,
    ) -> PresenceCall<'a, Joined>;

    /// Gives up `name` in `topic` if `claim` still holds it, and tells the
    /// topic; answers whether it held it.
    ///
    /// # Errors
    ///
    /// As [`Presence::join`].
    fn leave<'a>(
        &'a self,
        topic: &'a str,
        name: &'a str,
        claim: &'a Claim,
    ) -> PresenceCall<'a, bool>;

    /// The members of `topic`, by name.
    ///
    /// # Errors
    ///
    /// As [`Presence::join`].
    fn members<'a>(&'a self, topic: &'a str) -> PresenceCall<'a, Vec<Member>>;
}
