//! The one pub/sub connection a node keeps for the topics its subscribers
//! follow. It reconnects by itself; each time it comes back it subscribes
//! every followed channel again and tells each follower to catch up from
//! history, since messages sent meanwhile were not delivered. On a cluster
//! the connection resubscribes by itself, and its sharded messages arrive
//! as pushes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::{broadcast, mpsc};

use super::link::Commands;
use super::{scripts, Live, Pushes, Shared};
use crate::session::ReconnectPolicy;

/// Pushes a cluster connection may queue before they are dropped; a drop
/// is caught up from history.
const PUSH_CAPACITY: usize = 4096;

/// A topic this node follows.
#[derive(Debug)]
pub(super) struct Followed {
    sender: broadcast::Sender<Live>,
    /// The pub/sub generation its channel was subscribed in (0: not yet).
    subscribed_in: u64,
}

/// A receiver of `topic`'s live items; subscribes the channel if the
/// connection is up and has not yet.
pub(super) async fn follow(shared: &Shared, topic: &str) -> broadcast::Receiver<Live> {
    let channel = shared.channel(topic);
    let mut topics = shared.topics.lock().await;
    let followed = topics.entry(channel.clone()).or_insert_with(|| Followed {
        sender: broadcast::channel(shared.live_capacity).0,
        subscribed_in: 0,
    });
    let receiver = followed.sender.subscribe();
    if let Commands::Cluster(connection) = &shared.commands {
        // The cluster connection keeps its subscriptions across reconnects.
        if followed.subscribed_in == 0 {
            let mut connection = connection.clone();
            if let Ok(Ok(())) =
                tokio::time::timeout(shared.timeout, connection.ssubscribe(&channel)).await
            {
                followed.subscribed_in = 1;
            }
        }
        return receiver;
    }
    let generation = *shared.listening.borrow();
    if generation != 0 && followed.subscribed_in != generation {
        let sink = shared.sink.lock().expect("sink lock").clone();
        if let Some(mut sink) = sink {
            // On failure the connection is going; when it is back, the
            // listener subscribes every followed channel and says Resync.
            if let Ok(Ok(())) = tokio::time::timeout(shared.timeout, sink.subscribe(&channel)).await
            {
                followed.subscribed_in = generation;
            }
        }
    }
    receiver
}

/// Runs until the bus is gone: connect, subscribe, deliver, and again.
pub(super) async fn listen(shared: Weak<Shared>) {
    let Some(stop) = shared.upgrade().map(|shared| shared.stop.clone()) else {
        return;
    };
    // 100 ms doubling to 3.2 s, half of it random so nodes that lost Redis
    // together do not all come back at once.
    let backoff = ReconnectPolicy::default()
        .initial_delay(Duration::from_millis(100))
        .max_delay(Duration::from_millis(3200));
    let mut generation = 0u64;
    let mut failures = 0u32;
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let session = tokio::select! {
            () = stop.cancelled() => return,
            connected = connect(&strong, generation + 1) => connected,
        };
        let Some(mut messages) = session else {
            drop(strong);
            failures += 1;
            let wait = backoff.delay(failures);
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(wait) => continue,
            }
        };
        generation += 1;
        failures = 0;
        drop(strong);
        loop {
            let message = tokio::select! {
                () = stop.cancelled() => return,
                message = messages.next() => message,
            };
            let Some(message) = message else { break };
            let Some(strong) = shared.upgrade() else {
                return;
            };
            deliver(
                &strong,
                message.get_channel_name(),
                message.get_payload_bytes(),
            )
            .await;
        }
        let Some(strong) = shared.upgrade() else {
            return;
        };
        tracing::warn!("the Redis pub/sub connection dropped; reconnecting");
        strong.listening.send_replace(0);
        *strong.sink.lock().expect("sink lock") = None;
    }
}

/// Opens the pub/sub connection, subscribes every followed channel, marks
/// the connection up as `generation` and tells every follower to catch up.
async fn connect(shared: &Arc<Shared>, generation: u64) -> Option<redis::aio::PubSubStream> {
    let client = shared.client.as_ref()?;
    let pubsub = tokio::time::timeout(shared.timeout, client.get_async_pubsub())
        .await
        .ok()?
        .map_err(|err| tracing::debug!(%err, "Redis pub/sub connect failed"))
        .ok()?;
    let (mut sink, messages) = pubsub.split();
    let mut topics = shared.topics.lock().await;
    topics.retain(|_, followed| followed.sender.receiver_count() > 0);
    let channels: Vec<String> = topics.keys().cloned().collect();
    if !channels.is_empty() {
        tokio::time::timeout(shared.timeout, sink.subscribe(channels))
            .await
            .ok()?
            .ok()?;
    }
    for followed in topics.values_mut() {
        followed.subscribed_in = generation;
        let _ = followed.sender.send(Live::Resync);
    }
    *shared.sink.lock().expect("sink lock") = Some(sink);
    shared.listening.send_replace(generation);
    Some(messages)
}

/// Hands a channel message to the topic's followers; a topic nobody on
/// this node follows any more is unsubscribed.
async fn deliver(shared: &Shared, channel: &str, payload: &[u8]) {
    let Some((offset, epoch, item)) = scripts::parse_live(payload) else {
        tracing::warn!(channel, "dropped a malformed message on a topic channel");
        return;
    };
    let mut topics = shared.topics.lock().await;
    let Some(followed) = topics.get(channel) else {
        return;
    };
    let live = Live::Item {
        offset,
        epoch: Arc::from(epoch),
        item: Arc::from(item),
    };
    if followed.sender.send(live).is_err() {
        topics.remove(channel);
        if let Commands::Cluster(connection) = &shared.commands {
            let mut connection = connection.clone();
            let _ = tokio::time::timeout(shared.timeout, connection.sunsubscribe(channel)).await;
            return;
        }
        let sink = shared.sink.lock().expect("sink lock").clone();
        if let Some(mut sink) = sink {
            let _ = tokio::time::timeout(shared.timeout, sink.unsubscribe(channel)).await;
        }
    }
}

/// A bounded queue for a cluster connection's pushes, the flag it raises
/// when one had to be dropped, and the sender to give the connection.
pub(super) fn push_channel() -> (
    Pushes,
    Arc<AtomicBool>,
    impl Fn(PushInfo) -> Result<(), std::convert::Infallible> + Send + Sync + 'static,
) {
    let (sender, pushes) = mpsc::channel(PUSH_CAPACITY);
    let overflowed = Arc::new(AtomicBool::new(false));
    let raised = overflowed.clone();
    let push = move |info: PushInfo| {
        if sender.try_send(info).is_err() {
            raised.store(true, Ordering::Release);
        }
        Ok(())
    };
    (pushes, overflowed, push)
}

/// Reads a cluster connection's pushes until the bus is gone: messages go
/// to followers; a (re)subscription confirmed after a disconnect, or a
/// dropped push, makes the followers concerned catch up from history.
pub(super) async fn listen_cluster(
    shared: Weak<Shared>,
    mut pushes: Pushes,
    overflowed: Arc<AtomicBool>,
) {
    let Some(stop) = shared.upgrade().map(|shared| shared.stop.clone()) else {
        return;
    };
    loop {
        let push = tokio::select! {
            () = stop.cancelled() => return,
            push = pushes.recv() => push,
        };
        let Some(push) = push else { return };
        let Some(strong) = shared.upgrade() else {
            return;
        };
        match push.kind {
            PushKind::SMessage => {
                if let [channel, payload] = push.data.as_slice() {
                    if let (Some(channel), Some(payload)) = (text(channel), bytes(payload)) {
                        deliver(&strong, &channel, payload).await;
                    }
                }
            }
            PushKind::Disconnection => {
                tracing::warn!(
                    "a Redis Cluster connection dropped; it reconnects and resubscribes"
                );
                strong.listening.send_replace(0);
            }
            PushKind::SSubscribe => {
                let generation = *strong.listening.borrow();
                if generation == 0 {
                    strong.listening.send_replace(1);
                }
                if let Some(channel) = push.data.first().and_then(text) {
                    resync(&strong, Some(&channel)).await;
                }
            }
            _ => {}
        }
        if overflowed.swap(false, Ordering::AcqRel) {
            resync(&strong, None).await;
        }
    }
}

/// Tells the followers of `channel` (or of every channel) to catch up.
async fn resync(shared: &Shared, channel: Option<&str>) {
    let topics = shared.topics.lock().await;
    for (name, followed) in topics.iter() {
        if channel.is_none_or(|channel| channel == name) {
            let _ = followed.sender.send(Live::Resync);
        }
    }
}

fn text(value: &Value) -> Option<String> {
    bytes(value).and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        _ => None,
    }
}
