//! The settings of a [`RedisBus`] and its connecting: the command
//! connection, the shared state the bus's handles hold, and the pub/sub
//! listener started beside it.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::watch;

use super::link::Commands;
use super::{listener, scripts, unavailable, RedisBus, Shared};
use crate::bus::BusError;

/// Settings for a [`RedisBus`].
#[derive(Debug, Clone)]
pub struct RedisBusBuilder {
    target: Target,
    prefix: String,
    history_len: usize,
    history_age: Duration,
    meta_age: Duration,
    timeout: Duration,
    live_capacity: usize,
}

/// One Redis server, or the seed nodes of a Redis Cluster.
#[derive(Debug, Clone)]
pub(super) enum Target {
    Single(String),
    Cluster(Vec<String>),
}

impl RedisBusBuilder {
    pub(super) fn new(target: Target) -> RedisBusBuilder {
        RedisBusBuilder {
            target,
            prefix: "wirecall".into(),
            history_len: 1024,
            history_age: Duration::from_secs(300),
            meta_age: Duration::from_secs(7 * 24 * 3600),
            timeout: Duration::from_secs(2),
            live_capacity: 1024,
        }
    }

    /// Keeps the last `len` items of each topic, none older than `max_age`,
    /// for subscribers that resume or fill a hole. Default 1024 items, 5
    /// minutes.
    #[must_use]
    pub fn history(mut self, len: usize, max_age: Duration) -> Self {
        self.history_len = len;
        self.history_age = max_age;
        self
    }

    /// Prefix of every key and channel. Default `wirecall`.
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a topic's epoch and offset outlive its last publish; after
    /// that the topic starts over with a new epoch. Default 7 days.
    #[must_use]
    pub fn epoch_lifetime(mut self, age: Duration) -> Self {
        self.meta_age = age;
        self
    }

    /// How long one Redis command may take; a publish that gets no answer
    /// in time fails with [`BusError::Unconfirmed`], one Redis refuses or
    /// cannot be sent with [`BusError::Unavailable`]. Default 2 s.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Items a slow subscriber on this node may fall behind the live
    /// channel before it reads the rest from history. Default 1024.
    #[must_use]
    pub fn live_capacity(mut self, items: usize) -> Self {
        self.live_capacity = items.max(1);
        self
    }

    /// Connects the command connection and starts the pub/sub listener
    /// (which reconnects by itself).
    ///
    /// # Errors
    ///
    /// [`BusError::Unavailable`] when the URL is bad or Redis does not answer.
    pub async fn connect(self) -> Result<RedisBus, BusError> {
        let timeout = self.timeout;
        let connecting = async {
            match &self.target {
                Target::Single(url) => {
                    let client = redis::Client::open(url.as_str()).map_err(unavailable)?;
                    let config = redis::aio::ConnectionManagerConfig::new()
                        .set_connection_timeout(Some(timeout))
                        .set_response_timeout(Some(timeout))
                        .set_number_of_retries(2)
                        .set_max_delay(timeout);
                    let commands = ConnectionManager::new_with_config(client.clone(), config)
                        .await
                        .map_err(unavailable)?;
                    Ok((Some(client), Commands::Single(commands), None))
                }
                Target::Cluster(nodes) => {
                    let (pushes, overflowed, sender) = listener::push_channel();
                    let client = redis::cluster::ClusterClientBuilder::new(nodes.clone())
                        .use_protocol(redis::ProtocolVersion::RESP3)
                        .push_sender(sender)
                        .connection_timeout(timeout)
                        .response_timeout(timeout)
                        // A retried publish could run its script twice.
                        .retries(0)
                        .build()
                        .map_err(unavailable)?;
                    let commands = client.get_async_connection().await.map_err(unavailable)?;
                    Ok((
                        None,
                        Commands::Cluster(commands),
                        Some((pushes, overflowed)),
                    ))
                }
            }
        };
        let (client, commands, pushes) =
            tokio::time::timeout(timeout, connecting)
                .await
                .map_err(|_| {
                    BusError::Unavailable(format!(
                        "no answer from {:?} in {timeout:?}",
                        self.target
                    ))
                })??;
        let shared = Arc::new(Shared {
            client,
            commands,
            prefix: self.prefix,
            history_len: self.history_len,
            history_age: self.history_age,
            meta_age: self.meta_age,
            timeout,
            live_capacity: self.live_capacity,
            topics: tokio::sync::Mutex::default(),
            feeds: std::sync::Mutex::default(),
            listening: watch::Sender::new(0),
            sink: std::sync::Mutex::new(None),
            stop: tokio_util::sync::CancellationToken::new(),
            publish: redis::Script::new(&scripts::publish()),
            read: redis::Script::new(scripts::READ),
            epochs_made: AtomicU64::new(0),
        });
        match pushes {
            None => drop(tokio::spawn(listener::listen(Arc::downgrade(&shared)))),
            Some((pushes, overflowed)) => {
                shared.listening.send_replace(1);
                tokio::spawn(listener::listen_cluster(
                    Arc::downgrade(&shared),
                    pushes,
                    overflowed,
                ));
            }
        }
        let bus = RedisBus { shared };
        // The first subscribers should not wait for a Resync to begin.
        let _ = tokio::time::timeout(timeout, bus.listening()).await;
        Ok(bus)
    }
}
