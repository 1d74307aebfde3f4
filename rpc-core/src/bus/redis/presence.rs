//! Presence kept in Redis and shared by every node on it (feature `redis`).
//! The scripts are in `presence_scripts.rs` and tell joins and leaves on
//! the topic themselves; this side runs them within the bus's time bound,
//! cancels joins that got no answer, and keeps its own members alive with
//! a heartbeat, claiming again any that were lost.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use redis::FromRedisValue;
use serde_json::value::RawValue;

use super::{presence_scripts, RedisBus};
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

struct Inner {
    bus: RedisBus,
    announce: Announce,
    ttl: Duration,
    /// The members joined through this node: topic → name → member.
    held: Mutex<HashMap<String, HashMap<String, Held>>>,
    heartbeat: Once,
    /// Tells this presence's joins apart from every other's.
    id: String,
    tokens: AtomicU64,
    join: redis::Script,
    cancel: redis::Script,
    leave: redis::Script,
    refresh: redis::Script,
    members: redis::Script,
}

/// A member this node keeps alive, with what it takes to claim it again.
struct Held {
    holder: String,
    claim: Claim,
    info: String,
    joined: String,
    left: String,
}

/// How long a cancelled join's mark stays, for a join still on its way.
const CANCEL_MARK: Duration = Duration::from_secs(600);

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
                tokens: AtomicU64::new(0),
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

/// What a join script answered.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    New,
    Again,
    Taken,
}

impl Inner {
    fn ttl_ms(&self) -> String {
        super::millis(self.ttl).to_string()
    }

    fn token(&self) -> String {
        format!(
            "{}-{:x}",
            self.id,
            self.tokens.fetch_add(1, Ordering::Relaxed)
        )
    }

    fn mark_key(&self, topic: &str, token: &str) -> String {
        format!("{}:{{{topic}}}:cancelled:{token}", self.bus.shared.prefix)
    }

    /// Runs `script` on `topic` (with a cancel mark key for `join` and
    /// `cancel`) and `args`, within the bus's timeout.
    async fn run<T: FromRedisValue>(
        &self,
        script: &redis::Script,
        topic: &str,
        mark: Option<String>,
        args: &[&str],
    ) -> Result<T, BusError> {
        let shared = &self.bus.shared;
        let prefix = &shared.prefix;
        let ([meta, history], publishing) = shared.publishing(topic);
        let mut invocation = script.prepare_invoke();
        invocation
            .key(format!("{prefix}:{{{topic}}}:members"))
            .key(format!("{prefix}:{{{topic}}}:expiry"))
            .key(meta)
            .key(history);
        if let Some(mark) = mark {
            invocation.key(mark);
        }
        for arg in publishing {
            invocation.arg(arg);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut commands = shared.commands.clone();
        let timeout = shared.timeout;
        match tokio::time::timeout(timeout, invocation.invoke_async::<T>(&mut commands)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(err)) => Err(BusError::Unavailable(err.to_string())),
            Err(_) => Err(BusError::Unavailable(format!(
                "no answer from Redis within {timeout:?}"
            ))),
        }
    }

    /// Runs the join script under `token`; a join with no answer is
    /// cancelled in the background, whenever Redis runs it.
    async fn claim(
        self: &Arc<Self>,
        topic: &str,
        name: &str,
        held: &Held,
        token: &str,
    ) -> Result<Answer, BusError> {
        let ttl = self.ttl_ms();
        let args = [
            name,
            held.holder.as_str(),
            token,
            held.info.as_str(),
            ttl.as_str(),
            held.joined.as_str(),
            held.left.as_str(),
        ];
        let mark = self.mark_key(topic, token);
        let answer: String = match self.run(&self.join, topic, Some(mark), &args).await {
            Ok(answer) => answer,
            Err(err) => {
                self.cancel_in_background(topic, name, token.to_owned());
                return Err(err);
            }
        };
        match answer.as_str() {
            "new" => Ok(Answer::New),
            "again" => Ok(Answer::Again),
            "taken" => Ok(Answer::Taken),
            other => Err(BusError::Unavailable(format!(
                "unexpected answer {other:?}"
            ))),
        }
    }

    /// Undoes the join `token` made or is making, in the background, trying
    /// until Redis answers (for up to the cancel mark's life).
    fn cancel_in_background(self: &Arc<Self>, topic: &str, name: &str, token: String) {
        let (inner, topic, name) = (self.clone(), topic.to_owned(), name.to_owned());
        tokio::spawn(async move {
            let mark = super::millis(CANCEL_MARK).to_string();
            let give_up = tokio::time::Instant::now() + CANCEL_MARK;
            let mut wait = Duration::from_millis(100);
            let key = inner.mark_key(&topic, &token);
            loop {
                let args = [name.as_str(), token.as_str(), mark.as_str()];
                let cancelled: Result<u64, _> = inner
                    .run(&inner.cancel, &topic, Some(key.clone()), &args)
                    .await;
                if cancelled.is_ok() || tokio::time::Instant::now() > give_up {
                    return;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        });
    }

    /// One heartbeat: keeps this node's members alive and sweeps their
    /// topics; claims again the members found lost.
    async fn beat(self: &Arc<Self>) {
        let topics: Vec<(String, Vec<(String, String)>)> = self
            .held
            .lock()
            .expect("presence lock")
            .iter()
            .map(|(topic, names)| {
                let names = names
                    .iter()
                    .map(|(name, held)| (name.clone(), held.claim.token()))
                    .collect();
                (topic.clone(), names)
            })
            .collect();
        let ttl = self.ttl_ms();
        for (topic, names) in topics {
            let mut args = vec![ttl.as_str()];
            for (name, token) in &names {
                args.push(name);
                args.push(token);
            }
            match self
                .run::<Vec<String>>(&self.refresh, &topic, None, &args)
                .await
            {
                Ok(lost) => {
                    for name in lost {
                        self.claim_again(&topic, &name).await;
                    }
                }
                Err(err) => tracing::debug!(topic, %err, "presence heartbeat failed"),
            }
        }
    }

    /// Claims a lost member again under a new token, as a new join.
    async fn claim_again(self: &Arc<Self>, topic: &str, name: &str) {
        let token = self.token();
        let held = {
            let held = self.held.lock().expect("presence lock");
            let Some(member) = held.get(topic).and_then(|names| names.get(name)) else {
                return;
            };
            Held {
                holder: member.holder.clone(),
                claim: member.claim.clone(),
                info: member.info.clone(),
                joined: member.joined.clone(),
                left: member.left.clone(),
            }
        };
        match self.claim(topic, name, &held, &token).await {
            Ok(Answer::New | Answer::Again) => {
                tracing::warn!(topic, name, "a member of this node was lost; claimed again");
                held.claim.renew(token);
            }
            Ok(Answer::Taken) => {
                tracing::warn!(
                    topic,
                    name,
                    "a member of this node was lost and its name taken"
                );
                self.release(topic, name, &held.claim);
            }
            Err(err) => tracing::debug!(topic, name, %err, "claiming a lost member failed"),
        }
    }

    /// Stops keeping `name` alive, if `claim` is still what this node holds.
    fn release(&self, topic: &str, name: &str, claim: &Claim) {
        let mut held = self.held.lock().expect("presence lock");
        if let Some(names) = held.get_mut(topic) {
            if names.get(name).is_some_and(|member| member.claim == *claim) {
                names.remove(name);
            }
            if names.is_empty() {
                held.remove(topic);
            }
        }
    }
}

/// An id no other presence, in this process or another, has: the clock,
/// the process and a count of presences made here.
fn unique_id() -> String {
    static MADE: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let made = MADE.fetch_add(1, Ordering::Relaxed);
    format!("{now:x}-{:x}-{made:x}", std::process::id())
}

/// Beats every third of the time to live until the presence is gone.
async fn heartbeat(inner: Weak<Inner>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        inner.beat().await;
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
                tokio::spawn(heartbeat(Arc::downgrade(inner), inner.ttl / 3));
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
