//! Presence kept in Redis and shared by every node on it (feature `redis`).
//! The scripts are in `presence_scripts.rs`; this side runs them within the
//! bus's time bound, tells joins and leaves on the topic, and keeps its own
//! members alive with a heartbeat.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use redis::FromRedisValue;
use serde_json::value::RawValue;

use super::{presence_scripts, RedisBus};
use crate::bus::presence::{Announce, Joined, Member, Presence, PresenceCall};
use crate::bus::{Bus, BusError};

/// Members of topics kept in Redis, shared by every node on it.
///
/// Each node refreshes its own members every third of the time to live;
/// the members of a node that dies expire within the time to live (15 s
/// unless set), and the first node to sweep the topic after that — its
/// heartbeat, or a [`Presence::members`] call — tells their leaves. Every
/// call answers within the bus's timeout, or fails with
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
/// if presence.join("room-1", "ada", "page-7f3a", &info).await? == Joined::Taken {
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
    /// The members joined through this node, by topic: name → holder.
    held: Mutex<HashMap<String, HashMap<String, String>>>,
    heartbeat: Once,
    tokens: AtomicU64,
    join: redis::Script,
    cancel: redis::Script,
    leave: redis::Script,
    refresh: redis::Script,
    members: redis::Script,
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

impl Inner {
    fn keys(&self, topic: &str) -> (String, String) {
        let prefix = &self.bus.shared.prefix;
        (
            format!("{prefix}:{{{topic}}}:members"),
            format!("{prefix}:{{{topic}}}:expiry"),
        )
    }

    fn ttl_ms(&self) -> u64 {
        super::millis(self.ttl)
    }

    /// Runs `script` with `topic`'s keys (and `extra` keys) and `args`,
    /// within the bus's timeout.
    async fn run<T: FromRedisValue>(
        &self,
        script: &redis::Script,
        topic: &str,
        extra: Option<String>,
        args: &[&str],
    ) -> Result<T, BusError> {
        let (members, expiry) = self.keys(topic);
        let mut invocation = script.prepare_invoke();
        invocation.key(members).key(expiry);
        if let Some(key) = extra {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(*arg);
        }
        let mut commands = self.bus.shared.commands.clone();
        let timeout = self.bus.shared.timeout;
        match tokio::time::timeout(timeout, invocation.invoke_async::<T>(&mut commands)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(err)) => Err(BusError::Unavailable(err.to_string())),
            Err(_) => Err(BusError::Unavailable(format!(
                "no answer from Redis within {timeout:?}"
            ))),
        }
    }

    fn cancel_key(&self, topic: &str, token: &str) -> String {
        format!("{}:{{{topic}}}:cancelled:{token}", self.bus.shared.prefix)
    }

    /// Undoes the join `token` made or is making, in the background, trying
    /// until Redis answers (for up to the cancel mark's life).
    fn cancel_in_background(self: &Arc<Self>, topic: &str, name: &str, token: String) {
        let (inner, topic, name) = (self.clone(), topic.to_owned(), name.to_owned());
        tokio::spawn(async move {
            let mark = super::millis(CANCEL_MARK).to_string();
            let give_up = tokio::time::Instant::now() + CANCEL_MARK;
            let mut wait = Duration::from_millis(100);
            let key = inner.cancel_key(&topic, &token);
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

    /// Tells the topic that these members (name, info pairs) left.
    async fn tell_left(&self, topic: &str, gone: Vec<(String, String)>) {
        for (name, info) in gone {
            let Ok(info) = RawValue::from_string(info) else {
                continue;
            };
            let member = Member {
                name,
                info: Arc::from(info),
            };
            let told = match self.announce.left(&member) {
                Ok(item) => self.bus.publish_raw(topic, item).await.map(drop),
                Err(err) => Err(err),
            };
            if let Err(err) = told {
                tracing::warn!(topic, name = %member.name, %err, "a leave was not told");
            }
        }
    }

    fn hold(&self, topic: &str, name: &str, holder: &str) {
        self.held
            .lock()
            .expect("presence lock")
            .entry(topic.to_owned())
            .or_default()
            .insert(name.to_owned(), holder.to_owned());
    }

    fn release(&self, topic: &str, name: &str) {
        let mut held = self.held.lock().expect("presence lock");
        if let Some(names) = held.get_mut(topic) {
            names.remove(name);
            if names.is_empty() {
                held.remove(topic);
            }
        }
    }

    /// One heartbeat: keeps this node's members alive, and sweeps their
    /// topics, telling the leaves of members that expired.
    async fn beat(&self) {
        let topics: Vec<(String, Vec<(String, String)>)> = self
            .held
            .lock()
            .expect("presence lock")
            .iter()
            .map(|(topic, names)| {
                let names = names.iter().map(|(n, h)| (n.clone(), h.clone())).collect();
                (topic.clone(), names)
            })
            .collect();
        let ttl = self.ttl_ms().to_string();
        for (topic, names) in topics {
            let mut args = vec![ttl.as_str()];
            for (name, holder) in &names {
                args.push(name);
                args.push(holder);
            }
            match self
                .run::<Vec<String>>(&self.refresh, &topic, None, &args)
                .await
            {
                Ok(lost) => {
                    for name in lost {
                        tracing::warn!(
                            topic,
                            name,
                            "a member of this node expired before its heartbeat"
                        );
                        self.release(&topic, &name);
                    }
                }
                Err(err) => tracing::debug!(topic, %err, "presence heartbeat failed"),
            }
            if let Ok((gone, _)) = self.members_of(&topic).await {
                self.tell_left(&topic, gone).await;
            }
        }
    }

    /// Sweeps `topic`: the members that expired now, and those left.
    async fn members_of(
        &self,
        topic: &str,
    ) -> Result<(Vec<(String, String)>, Vec<(String, String)>), BusError> {
        let (gone, members): (Vec<String>, Vec<String>) =
            self.run(&self.members, topic, None, &[]).await?;
        Ok((pairs(gone), pairs(members)))
    }
}

/// `[a, b, c, d]` as `[(a, b), (c, d)]`.
fn pairs(flat: Vec<String>) -> Vec<(String, String)> {
    let mut flat = flat.into_iter();
    let mut pairs = Vec::new();
    while let (Some(a), Some(b)) = (flat.next(), flat.next()) {
        pairs.push((a, b));
    }
    pairs
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
            let token = format!(
                "{:x}-{:x}",
                std::process::id(),
                inner.tokens.fetch_add(1, Ordering::Relaxed)
            );
            let ttl = inner.ttl_ms().to_string();
            let args = [name, holder, token.as_str(), info.get(), ttl.as_str()];
            let key = inner.cancel_key(topic, &token);
            let answer: Result<Vec<String>, _> =
                inner.run(&inner.join, topic, Some(key), &args).await;
            let answer = match answer {
                Ok(answer) => answer,
                Err(err) => {
                    // It may still run when Redis answers again: undo it then.
                    inner.cancel_in_background(topic, name, token);
                    return Err(err);
                }
            };
            match answer.first().map(String::as_str) {
                Some("taken") => return Ok(Joined::Taken),
                Some("again") => {
                    inner.hold(topic, name, holder);
                    return Ok(Joined::Again);
                }
                Some("new") => {}
                _ => {
                    return Err(BusError::Unavailable(format!(
                        "unexpected answer {answer:?}"
                    )))
                }
            }
            if let Some(gone) = answer.get(1).filter(|gone| !gone.is_empty()) {
                inner
                    .tell_left(topic, vec![(name.to_owned(), gone.clone())])
                    .await;
            }
            let member = Member {
                name: name.to_owned(),
                info: Arc::from(info.to_owned()),
            };
            let told = match inner.announce.joined(&member) {
                Ok(item) => inner.bus.publish_raw(topic, item).await.map(drop),
                Err(err) => Err(err),
            };
            if let Err(err) = told {
                // Not told, so not in.
                inner.cancel_in_background(topic, name, token);
                return Err(err);
            }
            inner.hold(topic, name, holder);
            Ok(Joined::New)
        })
    }

    fn leave<'a>(
        &'a self,
        topic: &'a str,
        name: &'a str,
        holder: &'a str,
    ) -> PresenceCall<'a, bool> {
        Box::pin(async move {
            let inner = &self.inner;
            let held = inner
                .held
                .lock()
                .expect("presence lock")
                .get(topic)
                .and_then(|names| names.get(name))
                .is_some_and(|had| had == holder);
            inner.release(topic, name);
            // The member expires at once; whoever sweeps first tells it.
            let gone: Vec<String> = inner
                .run(&inner.leave, topic, None, &[name, holder])
                .await?;
            inner.tell_left(topic, pairs(gone)).await;
            Ok(held)
        })
    }

    fn members<'a>(&'a self, topic: &'a str) -> PresenceCall<'a, Vec<Member>> {
        Box::pin(async move {
            let (gone, members) = self.inner.members_of(topic).await?;
            self.inner.tell_left(topic, gone).await;
            let mut members: Vec<Member> = members
                .into_iter()
                .filter_map(|(name, info)| {
                    let info = RawValue::from_string(info).ok()?;
                    Some(Member {
                        name,
                        info: Arc::from(info),
                    })
                })
                .collect();
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
