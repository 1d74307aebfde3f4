//! Presence kept in Redis and shared by every node on it (feature `redis`).
//! The scripts are in `presence_scripts.rs` and tell joins and leaves on
//! the topic themselves; this side runs them within the bus's time bound,
//! cancels joins that got no answer, and keeps its own members alive with
//! a heartbeat, claiming again any that were lost.

use std::fmt;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use serde_json::value::RawValue;

use super::presence_node::{unique_id, Answer, Held, Inner};
use super::{presence_heartbeat, presence_scripts, RedisBus};
use crate::bus::presence::{Announce, Claim, Joined, Member, Presence, PresenceCall};
use crate::bus::BusError;

/// Members of topics kept in Redis, shared by every node on it.
///
/// Each node refreshes its own members every third of the time to live;
/// the members of a node that dies expire within the time to live (15 s
/// unless set), and the first node to sweep the topic after that — its
/// heartbeat, or a [`Presence::members`] call — tells their leaves, in the
/// same script that removes them. A member the node finds lost (Redis lost
/// its data, or a late heartbeat let another node sweep it) is claimed
/// again. Every call answers within the bus's timeout, or fails with
/// [`BusError::Unavailable`] and leaves nothing behind.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use wirecall::bus::presence::{Joined, Presence, RedisPresence};
/// use wirecall::bus::RedisBus;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let bus = RedisBus::builder("redis://127.0.0.1:6379/").connect().await?;
/// let presence = RedisPresence::new(&bus).ttl(Duration::from_secs(10));
/// let info = serde_json::value::to_raw_value(&"on a phone")?;
/// if let Joined::Taken = presence.join("room-1", "ada", "page-7f3a", &info).await? {
///     println!("ada is someone else here");
/// }
/// # Ok(()) }
/// ```
pub struct RedisPresence {
    inner: Arc<Inner>,
}

impl RedisPresence {
    /// Presence in the Redis of `bus`, whose joins and leaves are published
    /// on `bus` as [`Announce::default`] makes them; members live 15 s
    /// past their node's last heartbeat.
    pub fn new(bus: &RedisBus) -> RedisPresence {
        RedisPresence {
            inner: Arc::new(Inner {
                bus: bus.clone(),
                announce: Announce::default(),
                ttl: Duration::from_secs(15),
                held: Mutex::default(),
                heartbeat: Once::new(),
                id: unique_id(),
                tokens: std::sync::atomic::AtomicU64::new(0),
                join: redis::Script::new(&presence_scripts::join()),
                cancel: redis::Script::new(&presence_scripts::cancel()),
                leave: redis::Script::new(&presence_scripts::leave()),
                refresh: redis::Script::new(&presence_scripts::refresh()),
                members: redis::Script::new(&presence_scripts::members()),
            }),
        }
    }

    /// How long a member outlives its node's last heartbeat (at least 300
    /// ms); heartbeats come every third of it. Set before the first join.
    #[must_use]
    pub fn ttl(self, ttl: Duration) -> RedisPresence {
        self.with(|inner| inner.ttl = ttl.max(Duration::from_millis(300)))
    }

    /// Publishes joins and leaves as `announce` makes them. Set before the
    /// first join.
    #[must_use]
    pub fn announce(self, announce: Announce) -> RedisPresence {
        self.with(|inner| inner.announce = announce)
    }

    fn with(mut self, change: impl FnOnce(&mut Inner)) -> RedisPresence {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            change(inner);
        } else {
            tracing::warn!("RedisPresence settings are ignored once it is in use");
        }
        self
    }
}

impl Presence for RedisPresence {
    fn join<'a>(
        &'a self,
        topic: &'a str,
        name: &'a str,
        holder: &'a str,
        info: &'a RawValue,
    ) -> PresenceCall<'a, Joined> {
        Box::pin(async move {
            let inner = &self.inner;
            if holder.contains('\n') {
                return Err(BusError::Unavailable(
                    "a presence holder may not contain a line break".into(),
                ));
            }
            inner.heartbeat.call_once(|| {
                tokio::spawn(presence_heartbeat::run(
                    Arc::downgrade(inner),
                    inner.ttl / 3,
                ));
            });
            let member = Member {
                name: name.to_owned(),
                info: Arc::from(info.to_owned()),
            };
            let token = inner.token();
            let held = Held {
                holder: holder.to_owned(),
                claim: Claim::new(token.clone()),
                info: info.get().to_owned(),
                joined: inner.announce.joined(&member)?.get().to_owned(),
                left: inner.announce.left(&member)?.get().to_owned(),
            };
            let answer = inner.claim(topic, name, &held, &token).await?;
            if answer == Answer::Taken {
                return Ok(Joined::Taken);
            }
            let claim = held.claim.clone();
            inner
                .held
                .lock()
                .expect("presence lock")
                .entry(topic.to_owned())
                .or_default()
                .insert(name.to_owned(), held);
            Ok(match answer {
                Answer::New => Joined::New(claim),
                _ => Joined::Again(claim),
            })
        })
    }

    fn leave<'a>(
        &'a self,
        topic: &'a str,
        name: &'a str,
        claim: &'a Claim,
    ) -> PresenceCall<'a, bool> {
        Box::pin(async move {
            let inner = &self.inner;
            let token = claim.token();
            // The member expires at once and the same script tells its leave.
            let had: u64 = inner
                .run(&inner.leave, topic, None, &[name, &token])
                .await?;
            inner.release(topic, name, claim);
            Ok(had == 1)
        })
    }

    fn members<'a>(&'a self, topic: &'a str) -> PresenceCall<'a, Vec<Member>> {
        Box::pin(async move {
            let flat: Vec<String> = self
                .inner
                .run(&self.inner.members, topic, None, &[])
                .await?;
            let mut members = Vec::with_capacity(flat.len() / 2);
            let mut flat = flat.into_iter();
            while let (Some(name), Some(info)) = (flat.next(), flat.next()) {
                if let Ok(info) = RawValue::from_string(info) {
                    members.push(Member {
                        name,
                        info: Arc::from(info),
                    });
                }
            }
            members.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(members)
        })
    }
}

impl fmt::Debug for RedisPresence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPresence")
            .field("ttl", &self.inner.ttl)
            .finish_non_exhaustive()
    }
}
