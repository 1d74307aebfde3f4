//! Presence for one process: members in a map, joins and leaves published
//! on the process's bus.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;

use super::{Announce, Claim, Joined, Member, Presence, PresenceCall};
use crate::bus::{Bus, BusError};

/// Members of each topic, kept in this process.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use serde_json::value::to_raw_value;
/// use wirecall::bus::presence::{InProcessPresence, Joined, Presence};
/// use wirecall::bus::InProcessBus;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let presence = InProcessPresence::new(Arc::new(InProcessBus::default()));
/// let info = to_raw_value(&"on a phone").unwrap();
/// let joined = presence.join("room-1", "ada", "page-1", &info).await?;
/// assert!(matches!(joined, Joined::New(_)));
/// assert_eq!(presence.join("room-1", "ada", "page-2", &info).await?, Joined::Taken);
/// assert_eq!(presence.members("room-1").await?.len(), 1);
/// assert!(presence.leave("room-1", "ada", joined.claim().unwrap()).await?);
/// # Ok::<(), wirecall::bus::BusError>(())
/// # }).unwrap();
/// ```
pub struct InProcessPresence {
    bus: Arc<dyn Bus>,
    announce: Announce,
    topics: Mutex<HashMap<String, BTreeMap<String, Held>>>,
    /// Tells joins apart.
    joins: std::sync::atomic::AtomicU64,
}

struct Held {
    holder: String,
    /// The join that holds the name.
    token: String,
    info: Arc<RawValue>,
}

impl InProcessPresence {
    /// Presence whose joins and leaves are published on `bus`, as
    /// [`Announce::default`] makes them.
    pub fn new(bus: Arc<dyn Bus>) -> InProcessPresence {
        InProcessPresence {
            bus,
            announce: Announce::default(),
            topics: Mutex::default(),
            joins: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Publishes joins and leaves as `announce` makes them.
    #[must_use]
    pub fn announce(mut self, announce: Announce) -> InProcessPresence {
        self.announce = announce;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<String, Held>>> {
        self.topics
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Removes `name` from `topic` if join `token` holds it; its info if so.
    fn take(&self, topic: &str, name: &str, token: &str) -> Option<Arc<RawValue>> {
        let mut topics = self.lock();
        let members = topics.get_mut(topic)?;
        if members.get(name)?.token != token {
            return None;
        }
        let held = members.remove(name)?;
        if members.is_empty() {
            topics.remove(topic);
        }
        Some(held.info)
    }
}

impl Presence for InProcessPresence {
    fn join<'a>(
        &'a self,
        topic: &'a str,
        name: &'a str,
        holder: &'a str,
        info: &'a RawValue,
    ) -> PresenceCall<'a, Joined> {
        Box::pin(async move {
            let member = Member {
                name: name.to_owned(),
                info: Arc::from(info.to_owned()),
            };
            let token = self
                .joins
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .to_string();
            {
                let mut topics = self.lock();
                let members = topics.entry(topic.to_owned()).or_default();
                match members.get_mut(name) {
                    Some(held) if held.holder != holder => return Ok(Joined::Taken),
                    Some(held) => {
                        held.info = member.info.clone();
                        held.token.clone_from(&token);
                        return Ok(Joined::Again(Claim::new(token)));
                    }
                    None => {
                        let held = Held {
                            holder: holder.to_owned(),
                            token: token.clone(),
                            info: member.info.clone(),
                        };
                        members.insert(name.to_owned(), held);
                    }
                }
            }
            let told = match self.announce.joined(&member) {
                Ok(item) => self.bus.publish_raw(topic, item).await.map(drop),
                Err(err) => Err(err),
            };
            if let Err(err) = told {
                // Not told, so not in: the join leaves nothing behind.
                self.take(topic, name, &token);
                return Err(err);
            }
            Ok(Joined::New(Claim::new(token)))
        })
    }

    fn leave<'a>(
        &'a self,
        topic: &'a str,
        name: &'a str,
        claim: &'a Claim,
    ) -> PresenceCall<'a, bool> {
        Box::pin(async move {
            let Some(info) = self.take(topic, name, &claim.token()) else {
                return Ok(false);
            };
            let member = Member {
                name: name.to_owned(),
                info,
            };
            let item = self.announce.left(&member)?;
            self.bus.publish_raw(topic, item).await?;
            Ok(true)
        })
    }

    fn members<'a>(&'a self, topic: &'a str) -> PresenceCall<'a, Vec<Member>> {
        let members = self.lock().get(topic).map_or_else(Vec::new, |members| {
            members
                .iter()
                .map(|(name, held)| Member {
                    name: name.clone(),
                    info: held.info.clone(),
                })
                .collect()
        });
        Box::pin(std::future::ready(Ok::<_, BusError>(members)))
    }
}

impl std::fmt::Debug for InProcessPresence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessPresence")
            .field("topics", &self.lock().len())
            .finish_non_exhaustive()
    }
}
