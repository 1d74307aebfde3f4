//! Push on state change: a key-value store publishes every change on an
//! in-process bus, and every client watching that key gets it once. Each
//! change is serialized once, however many clients watch.
//!
//! Run it with `cargo run -p example-push-bus` (`--clients N`, default 20):
//! it starts a server, connects the watchers and a writer, makes three
//! changes, checks that every watcher saw each exactly once, and exits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wirecall::bus::{self, InProcessBus};
use wirecall::client::Client;
use wirecall::server::Server;
use wirecall::{ErrorObject, PendingSubscription, SubscriptionEvent};

/// One change of one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Change {
    key: String,
    value: i64,
    version: u64,
}

#[wirecall::rpc(server, client, namespace = "store")]
trait Store {
    /// Sets `key`, publishing the change; answers the new version.
    #[method(name = "set")]
    async fn set(&self, key: String, value: i64) -> Result<u64, ErrorObject>;

    /// The current value of `key`.
    #[method(name = "get")]
    async fn get(&self, key: String) -> Result<Option<i64>, ErrorObject>;

    /// Every change of `key` from now on.
    #[subscription(name = "watch", unsubscribe = "unwatch", item = Change)]
    async fn watch(&self, sink: PendingSubscription<Change>, key: String);
}

/// The state and the bus its changes go out on.
#[derive(Clone, Default)]
struct StoreService {
    values: Arc<Mutex<HashMap<String, (i64, u64)>>>,
    bus: Arc<InProcessBus>,
}

impl StoreServer for StoreService {
    async fn set(&self, key: String, value: i64) -> Result<u64, ErrorObject> {
        let version = {
            let mut values = self.values.lock().expect("store lock");
            let entry = values.entry(key.clone()).or_insert((0, 0));
            *entry = (value, entry.1 + 1);
            entry.1
        };
        let change = Change {
            key: key.clone(),
            value,
            version,
        };
        bus::publish(&*self.bus, &key, &change).await?;
        Ok(version)
    }

    async fn get(&self, key: String) -> Result<Option<i64>, ErrorObject> {
        Ok(self
            .values
            .lock()
            .expect("store lock")
            .get(&key)
            .map(|(value, _)| *value))
    }

    async fn watch(&self, sink: PendingSubscription<Change>, key: String) {
        bus::follow(&*self.bus, &key, sink).await;
    }
}

fn clients_flag() -> Result<usize, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(20),
        [flag, n] if flag == "--clients" => n.parse().map_err(|e| format!("--clients: {e}")),
        _ => Err("usage: push_bus [--clients N]".into()),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clients = clients_flag()?;
    let server = Server::builder()
        .build(StoreService::default().into_router())
        .bind("127.0.0.1:0")
        .await?;
    let url = format!("ws://{}/", server.local_addr());

    let mut watchers = Vec::new();
    for _ in 0..clients {
        let client = Client::connect(&url).await?;
        let changes = StoreClient::new(&client)
            .watch("temperature".into())
            .await?;
        watchers.push((client, changes));
    }

    let writer = Client::connect(&url).await?;
    let store = StoreClient::new(&writer);
    for value in [18, 21, 19] {
        store.set("temperature".into(), value).await?;
    }
    println!("published 3 changes to {clients} watchers");

    for (i, (_client, changes)) in watchers.iter_mut().enumerate() {
        let mut seen = Vec::new();
        while seen.len() < 3 {
            match tokio::time::timeout(Duration::from_secs(5), changes.next()).await? {
                Some(SubscriptionEvent::Item(change)) => seen.push(change),
                other => return Err(format!("watcher {i}: unexpected {other:?}").into()),
            }
        }
        let values: Vec<i64> = seen.iter().map(|c| c.value).collect();
        let versions: Vec<u64> = seen.iter().map(|c| c.version).collect();
        if values != [18, 21, 19] || versions != [1, 2, 3] {
            return Err(format!("watcher {i} saw {seen:?}").into());
        }
    }
    // A fourth change must be the very next item everywhere: no duplicates.
    store.set("temperature".into(), 20).await?;
    for (i, (_client, changes)) in watchers.iter_mut().enumerate() {
        match tokio::time::timeout(Duration::from_secs(5), changes.next()).await? {
            Some(SubscriptionEvent::Item(change)) if change.version == 4 => {}
            other => return Err(format!("watcher {i}: expected version 4, got {other:?}").into()),
        }
    }
    println!("every watcher received each change exactly once, in order");
    println!(
        "temperature is now {:?}",
        store.get("temperature".into()).await?
    );
    server.shutdown().await;
    Ok(())
}
