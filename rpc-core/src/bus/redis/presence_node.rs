//! A node's presence state: the scripts, the members it keeps alive, and
//! running a script within the bus's time bound, joins that got no answer
//! cancelled in the background.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use redis::FromRedisValue;

use super::RedisBus;
use crate::bus::presence::{Announce, Claim};
use crate::bus::BusError;

pub(super) struct Inner {
    pub(super) bus: RedisBus,
    pub(super) announce: Announce,
    pub(super) ttl: Duration,
    /// The members joined through this node: topic → name → member.
    pub(super) held: Mutex<HashMap<String, HashMap<String, Held>>>,
    pub(super) heartbeat: Once,
    /// Tells this presence's joins apart from every other's.
    pub(super) id: String,
    pub(super) tokens: AtomicU64,
    pub(super) join: redis::Script,
    pub(super) cancel: redis::Script,
    pub(super) leave: redis::Script,
    pub(super) refresh: redis::Script,
    pub(super) members: redis::Script,
}

/// A member this node keeps alive, with what it takes to claim it again.
pub(super) struct Held {
    pub(super) holder: String,
    pub(super) claim: Claim,
    pub(super) info: String,
    pub(super) joined: String,
    pub(super) left: String,
}

/// How long a cancelled join's mark stays, for a join still on its way.
const CANCEL_MARK: Duration = Duration::from_secs(600);

/// What a join script answered.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Answer {
    New,
    Again,
    Taken,
}

impl Inner {
    pub(super) fn ttl_ms(&self) -> String {
        super::millis(self.ttl).to_string()
    }

    pub(super) fn token(&self) -> String {
        format!(
            "{}-{:x}",
            self.id,
            self.tokens.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub(super) fn mark_key(&self, topic: &str, token: &str) -> String {
        format!("{}:{{{topic}}}:cancelled:{token}", self.bus.shared.prefix)
    }

    /// Runs `script` on `topic` (with a cancel mark key for `join` and
    /// `cancel`) and `args`, within the bus's timeout.
    pub(super) async fn run<T: FromRedisValue>(
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
    pub(super) async fn claim(
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
    pub(super) fn cancel_in_background(self: &Arc<Self>, topic: &str, name: &str, token: String) {
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

    /// Stops keeping `name` alive, if `claim` is still what this node holds.
    pub(super) fn release(&self, topic: &str, name: &str, claim: &Claim) {
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
pub(super) fn unique_id() -> String {
    static MADE: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let made = MADE.fetch_add(1, Ordering::Relaxed);
    format!("{now:x}-{:x}-{made:x}", std::process::id())
}
