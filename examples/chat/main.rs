//! The flagship: a chat server defined with `#[rpc]` (rooms, names,
//! messages, live presence), mounted on an axum app beside the web page
//! that uses it — the way wirecall joins an existing service.
//!
//! Run it with `cargo run --release -p example-chat`, then open
//! <http://127.0.0.1:4000/> in two browser windows. `--listen ADDR` picks
//! another address (port 0 picks a free port). `cargo run -p
//! example-chat --bin chat_bot` adds a bot to the room.
//!
//! `--redis redis://127.0.0.1:6379/` runs it as one node of a cluster:
//! rooms' events go through Redis, so people on any node that shares the
//! Redis share the rooms, and a page whose node goes away resumes on
//! another. (Who is in a room is still counted per node: a join answers
//! the members on its own node, and others show up as they speak or join.)
//!
//! It is observable the way a service in production is: `/metrics` serves
//! Prometheus text (every call by method and outcome, durations,
//! connections, subscriptions, bytes), logs go to stderr through
//! `tracing-subscriber` (`RUST_LOG=info` shows a span per connection and
//! per call), and each connection may make 20 calls per second, in bursts
//! of up to 40.

mod api;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use api::{ChatError, ChatServer, RoomEvent};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;
use wirecall::bus::{self, Bus, InProcessBus, RedisBus};
use wirecall::middleware::{Metrics, RateLimit, Trace};
use wirecall::server::{http, Server};
use wirecall::{Context, PendingSubscription};

const MAX_NAME: usize = 32;
const MAX_TEXT: usize = 2000;

/// Rooms by name, each with its members by connection.
struct ChatState {
    bus: Arc<dyn Bus>,
    rooms: Mutex<HashMap<String, HashMap<u64, String>>>,
    next_message: AtomicU64,
}

#[derive(Clone)]
struct ChatService(Arc<ChatState>);

impl ChatService {
    fn new(bus: Arc<dyn Bus>) -> ChatService {
        ChatService(Arc::new(ChatState {
            bus,
            rooms: Mutex::default(),
            next_message: AtomicU64::new(0),
        }))
    }

    fn members(&self, room: &str) -> Vec<String> {
        let rooms = self.0.rooms.lock().expect("rooms lock");
        let mut names: Vec<String> = rooms
            .get(room)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    async fn publish(&self, room: &str, event: &RoomEvent) -> Result<(), ChatError> {
        bus::publish(&*self.0.bus, room, event)
            .await
            .map_err(|err| ChatError::Unavailable {
                reason: err.to_string(),
            })
    }

    /// Removes the member when its connection ends, and tells the room.
    fn leave_on_close(&self, ctx: &Context, room: String) {
        let Some(peer) = ctx.peer().cloned() else {
            return;
        };
        let (service, connection) = (self.clone(), ctx.connection_id());
        tokio::spawn(async move {
            peer.closed().await;
            let name = {
                let mut rooms = service.0.rooms.lock().expect("rooms lock");
                let members = rooms.entry(room.clone()).or_default();
                let name = members.remove(&connection);
                if members.is_empty() {
                    rooms.remove(&room);
                }
                name
            };
            if let Some(name) = name {
                if let Err(err) = service.publish(&room, &RoomEvent::Left { name }).await {
                    eprintln!("could not tell {room} that someone left: {err:?}");
                }
            }
        });
    }
}

fn check(value: &str, max: usize, what: &'static str) -> Result<(), ChatError> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(ChatError::Invalid { what: what.into() });
    }
    Ok(())
}

impl ChatServer for ChatService {
    async fn join(
        &self,
        ctx: Context,
        room: String,
        name: String,
    ) -> Result<Vec<String>, ChatError> {
        check(&room, MAX_NAME, "a room name is 1 to 32 characters")?;
        check(&name, MAX_NAME, "a name is 1 to 32 characters")?;
        let newcomer = {
            let mut rooms = self.0.rooms.lock().expect("rooms lock");
            let members = rooms.entry(room.clone()).or_default();
            if members
                .iter()
                .any(|(id, taken)| *taken == name && *id != ctx.connection_id())
            {
                return Err(ChatError::NameTaken { name });
            }
            members.insert(ctx.connection_id(), name.clone()).is_none()
        };
        if newcomer {
            self.leave_on_close(&ctx, room.clone());
        }
        self.publish(&room, &RoomEvent::Joined { name }).await?;
        Ok(self.members(&room))
    }

    async fn send(&self, ctx: Context, room: String, text: String) -> Result<u64, ChatError> {
        check(&text, MAX_TEXT, "a message is 1 to 2000 characters")?;
        let from = {
            let rooms = self.0.rooms.lock().expect("rooms lock");
            rooms
                .get(&room)
                .and_then(|m| m.get(&ctx.connection_id()).cloned())
        };
        let from = from.ok_or(ChatError::NotJoined)?;
        let id = self.0.next_message.fetch_add(1, Ordering::Relaxed);
        self.publish(&room, &RoomEvent::Message { id, from, text })
            .await?;
        Ok(id)
    }

    async fn users(&self, room: String) -> Result<Vec<String>, ChatError> {
        Ok(self.members(&room))
    }

    async fn events(&self, sink: PendingSubscription<RoomEvent>, room: String) {
        if let Err(err) = check(&room, MAX_NAME, "a room name is 1 to 32 characters") {
            sink.reject(err);
            return;
        }
        // Resumes after the client's last position when it gives one.
        bus::follow(&*self.0.bus, &room, sink).await;
    }
}

/// Hands a WebSocket upgrade on `/rpc` to wirecall.
async fn rpc(
    State(server): State<Server>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let mut head = http::Request::new(());
    *head.method_mut() = parts.method.clone();
    *head.uri_mut() = parts.uri.clone();
    *head.headers_mut() = parts.headers.clone();
    match server.accept_upgrade(&head, Some(addr)) {
        Ok((response, extensions)) => {
            let request = Request::from_parts(parts, body);
            tokio::spawn(async move {
                match hyper::upgrade::on(request).await {
                    Ok(upgraded) => drop(
                        server
                            .serve_upgraded(TokioIo::new(upgraded), Some(addr), extensions)
                            .await,
                    ),
                    Err(err) => eprintln!("upgrade failed: {err}"),
                }
            });
            response.map(|()| Body::empty())
        }
        Err(rejection) => {
            let status =
                StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::BAD_REQUEST);
            (status, rejection.reason().to_owned()).into_response()
        }
    }
}

/// The metrics in Prometheus' text format.
async fn metrics(State(prometheus): State<PrometheusHandle>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        prometheus.render(),
    )
}

async fn page() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        include_str!("index.html"),
    )
}

async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("app.js"),
    )
}

/// `--listen ADDR` (default 127.0.0.1:4000) and `--redis URL`.
fn options() -> Result<(SocketAddr, Option<String>), String> {
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:4000".to_owned();
    let mut redis = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            "--redis" => redis = Some(args.next().ok_or("--redis needs a URL")?),
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: chat [--listen ADDR] [--redis URL]"
                ))
            }
        }
    }
    let listen = listen
        .parse()
        .map_err(|err| format!("bad --listen address {listen:?}: {err}"))?;
    Ok((listen, redis))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, redis) = options()?;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    // Installed before any connection opens, so every one is counted.
    let prometheus = PrometheusBuilder::new()
        .set_buckets(&[0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0])?
        .install_recorder()?;
    let bus: Arc<dyn Bus> = match redis {
        Some(url) => Arc::new(RedisBus::builder(url).connect().await?),
        None => Arc::new(InProcessBus::default()),
    };
    let mut router = ChatService::new(bus).into_router();
    router
        .layer(Trace::new())
        .layer(Metrics::new())
        .layer(RateLimit::per_connection(20.0, 40));
    let rpc_server = Server::builder().build(router);
    let app = axum::Router::new()
        .route("/", get(page))
        .route("/app.js", get(script))
        .route("/rpc", get(rpc))
        .with_state(rpc_server)
        .merge(
            axum::Router::new()
                .route("/metrics", get(metrics))
                .with_state(prometheus),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("listening on http://{local}/ (JSON-RPC over WebSocket at ws://{local}/rpc)");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
