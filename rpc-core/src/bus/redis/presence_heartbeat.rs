//! A node's heartbeat for its presence members: every third of the time to
//! live it refreshes them (the same script sweeps their topics, telling
//! the leaves of members that expired), and claims again any it finds lost.

use std::sync::{Arc, Weak};
use std::time::Duration;

use super::presence_node::{Answer, Held, Inner};

impl Inner {
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
}

/// Beats every third of the time to live until the presence is gone.
pub(super) async fn run(inner: Weak<Inner>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        inner.beat().await;
    }
}
