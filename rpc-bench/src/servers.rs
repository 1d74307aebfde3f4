//! The servers under test, each run in its own child process by
//! `rpc-bench serve <kind>`: a bare tokio-tungstenite echo (the floor),
//! jsonrpsee, and wirecall. All answer `add(a, b)`; the two RPC servers also
//! push `subscribe_items(n)` and fan out `publish` to `subscribe_topic`.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use jsonrpsee::server::{RpcModule, ServerConfig, SubscriptionMessage};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use wirecall::bus::{self, InProcessBus};
use wirecall::middleware::{Metrics, Trace};
use wirecall::{ErrorObject, PendingSubscription};

/// Which server (and matching client) a workload runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Raw,
    Jsonrpsee,
    Wirecall,
    /// wirecall with its tracing and metrics layers installed, and no
    /// subscriber or recorder listening: what instrumentation costs idle.
    WirecallLayers,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Raw => "raw",
            Kind::Jsonrpsee => "jsonrpsee",
            Kind::Wirecall => "wirecall",
            Kind::WirecallLayers => "wirecall-layers",
        }
    }
}

/// Connections every server accepts (the idle-memory scenario opens 50 000).
const MAX_CONNECTIONS: u32 = 100_000;

/// Serves `kind` on 127.0.0.1:0 and prints `ready PORT`; runs until killed.
pub(crate) async fn serve(kind: &str) -> Result<(), Box<dyn std::error::Error>> {
    match kind {
        "raw" => raw().await,
        "jsonrpsee" => jsonrpsee_server().await,
        "wirecall" => wirecall_server(false).await,
        "wirecall-layers" => wirecall_server(true).await,
        other => Err(format!("unknown server kind {other:?}").into()),
    }
}

fn ready(port: u16) {
    println!("ready {port}");
}

/// The floor: a WebSocket echo with a 4 KiB read buffer, one flush per message.
async fn raw() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    ready(listener.local_addr()?.port());
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = 4096;
    config.write_buffer_size = 0;
    loop {
        let (tcp, _) = listener.accept().await?;
        let _ = tcp.set_nodelay(true);
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await
            else {
                return;
            };
            while let Some(Ok(message)) = ws.next().await {
                if message.is_text() && ws.send(message).await.is_err() {
                    return;
                }
            }
        });
    }
}

async fn jsonrpsee_server() -> Result<(), Box<dyn std::error::Error>> {
    let (topic, _) = broadcast::channel::<Arc<serde_json::value::RawValue>>(1024);
    let mut module = RpcModule::new(topic);
    module.register_method("add", |params, _, _| {
        let (a, b): (i64, i64) = params.parse()?;
        Ok::<_, jsonrpsee::types::ErrorObjectOwned>(a + b)
    })?;
    module.register_method("publish", |params, topic, _| {
        let value: u64 = params.one()?;
        let item: Arc<serde_json::value::RawValue> = serde_json::value::to_raw_value(&value)
            .expect("a number")
            .into();
        Ok::<_, jsonrpsee::types::ErrorObjectOwned>(topic.send(item).unwrap_or(0))
    })?;
    module.register_subscription(
        "subscribe_items",
        "item",
        "unsubscribe_items",
        |params, pending, _, _| async move {
            let count: u64 = params.one().unwrap_or(0);
            let Ok(sink) = pending.accept().await else {
                return;
            };
            for n in 0..count {
                let item = serde_json::value::to_raw_value(&n).expect("a number");
                if sink.send(SubscriptionMessage::from(item)).await.is_err() {
                    return;
                }
            }
        },
    )?;
    module.register_subscription(
        "subscribe_topic",
        "topic",
        "unsubscribe_topic",
        |_, pending, topic, _| async move {
            let mut receiver = topic.subscribe();
            let Ok(sink) = pending.accept().await else {
                return;
            };
            while let Ok(item) = receiver.recv().await {
                let message = SubscriptionMessage::from((*item).to_owned());
                if sink.send(message).await.is_err() {
                    return;
                }
            }
        },
    )?;
    let config = ServerConfig::builder()
        .max_connections(MAX_CONNECTIONS)
        .max_subscriptions_per_connection(1024)
        .build();
    let server = jsonrpsee::server::Server::builder()
        .set_config(config)
        .build("127.0.0.1:0")
        .await?;
    ready(server.local_addr()?.port());
    let handle = server.start(module);
    handle.stopped().await;
    Ok(())
}

#[wirecall::rpc(server)]
trait BenchService {
    #[method(name = "add")]
    async fn add(&self, a: i64, b: i64) -> Result<i64, ErrorObject>;

    #[method(name = "publish")]
    async fn publish(&self, value: u64) -> Result<u64, ErrorObject>;

    /// Tasks alive in the server's runtime (the soak watches for leaks).
    #[method(name = "tasks")]
    async fn tasks(&self) -> Result<u64, ErrorObject>;

    #[subscription(name = "subscribe_items", unsubscribe = "unsubscribe_items", notification = "item", item = u64)]
    async fn items(&self, sink: PendingSubscription<u64>, count: u64);

    #[subscription(name = "subscribe_topic", unsubscribe = "unsubscribe_topic", notification = "topic", item = u64)]
    async fn topic(&self, sink: PendingSubscription<u64>);
}

struct Bench {
    bus: InProcessBus,
}

impl BenchServiceServer for Bench {
    async fn add(&self, a: i64, b: i64) -> Result<i64, ErrorObject> {
        Ok(a + b)
    }

    async fn publish(&self, value: u64) -> Result<u64, ErrorObject> {
        bus::publish(&self.bus, "topic", &value).await?;
        Ok(value)
    }

    async fn tasks(&self) -> Result<u64, ErrorObject> {
        Ok(tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks() as u64)
    }

    async fn items(&self, sink: PendingSubscription<u64>, count: u64) {
        let Ok(sink) = sink.accept() else { return };
        for n in 0..count {
            if sink.send(&n).await.is_err() {
                return;
            }
        }
    }

    async fn topic(&self, sink: PendingSubscription<u64>) {
        bus::follow(&self.bus, "topic", sink).await;
    }
}

async fn wirecall_server(layers: bool) -> Result<(), Box<dyn std::error::Error>> {
    let mut router = Bench {
        bus: InProcessBus::default(),
    }
    .into_router();
    if layers {
        router.layer(Trace::new()).layer(Metrics::new());
    }
    let server = wirecall::Server::builder()
        .max_connections(MAX_CONNECTIONS as usize)
        .build(router)
        .bind("127.0.0.1:0")
        .await?;
    ready(server.local_addr().port());
    std::future::pending::<()>().await;
    Ok(())
}
