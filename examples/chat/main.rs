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
//! rooms' events go through Redis, and so does who is in them, so people on
//! any node that shares the Redis share the rooms: a name is taken once per
//! room across nodes, message ids are unique per room across nodes, and a
//! page whose node goes away resumes on another. When a node dies, its
//! people leave within `--presence-ttl` seconds (15 unless set), and the
//! other pages are told.
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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api::{ChatError, ChatServer, RoomEvent};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde_json::value::RawValue;
use tracing_subscriber::EnvFilter;
use wirecall::bus::presence::{
    Announce, Claim, InProcessPresence, Joined, Presence, RedisPresence,
};
use wirecall::bus::{self, Bus, BusError, InProcessBus, RedisBus};
use wirecall::middleware::{Metrics, RateLimit, Trace};
use wirecall::server::{http, Server};
use wirecall::{Context, PendingSubscription};

const MAX_NAME: usize = 32;
const MAX_TEXT: usize = 2000;
const MAX_KEY: usize = 64;

/// A connection's names by room, each with the claim its join holds.
type Names = HashMap<String, (String, Claim)>;

/// The rooms' events go through the bus; who is in them, through presence
/// (shared by every node on one Redis). Each connection's own names are
/// kept here, by connection.
struct ChatState {
    bus: Arc<dyn Bus>,
    presence: Arc<dyn Presence>,
    joined: Mutex<HashMap<u64, Names>>,
    /// Tells this node's connections apart from other nodes' in holders.
    node: String,
}

#[derive(Clone)]
struct ChatService(Arc<ChatState>);

#[allow(clippy::needless_pass_by_value)] // used as `map_err(unavailable)`
fn unavailable(err: BusError) -> ChatError {
    ChatError::Unavailable {
        reason: err.to_string(),
    }
}

/// Joins and leaves, published on the room as its own events.
fn announce() -> Announce {
    Announce::new(
        |member| RoomEvent::Joined {
            name: member.name.clone(),
        },
        |member| RoomEvent::Left {
            name: member.name.clone(),
        },
    )
}

impl ChatService {
    fn new(bus: Arc<dyn Bus>, presence: Arc<dyn Presence>) -> ChatService {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        ChatService(Arc::new(ChatState {
            bus,
            presence,
            joined: Mutex::default(),
            node: format!("{:x}-{started:x}", std::process::id()),
        }))
    }

    async fn members(&self, room: &str) -> Result<Vec<String>, ChatError> {
        let members = self.0.presence.members(room).await.map_err(unavailable)?;
        Ok(members.into_iter().map(|member| member.name).collect())
    }

    /// This connection's name and claim in `room`, if it joined.
    fn joined_as(&self, connection: u64, room: &str) -> Option<(String, Claim)> {
        let joined = self.0.joined.lock().expect("joined lock");
        joined.get(&connection)?.get(room).cloned()
    }

    /// Leaves every room the connection joined when it ends (its leaves are
    /// told on each room).
    fn leave_on_close(&self, ctx: &Context) {
        let Some(peer) = ctx.peer().cloned() else {
            return;
        };
        let (service, connection) = (self.clone(), ctx.connection_id());
        tokio::spawn(async move {
            peer.closed().await;
            let rooms = service
                .0
                .joined
                .lock()
                .expect("joined lock")
                .remove(&connection)
                .unwrap_or_default();
            for (room, (name, claim)) in rooms {
                // A no-op when the page has joined again elsewhere since.
                if let Err(err) = service.0.presence.leave(&room, &name, &claim).await {
                    // The member expires by itself within the presence's time to live.
                    eprintln!("could not leave {room} as {name}: {err}");
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
        key: Option<String>,
    ) -> Result<Vec<String>, ChatError> {
        check(&room, MAX_NAME, "a room name is 1 to 32 characters")?;
        check(&name, MAX_NAME, "a name is 1 to 32 characters")?;
        let connection = ctx.connection_id();
        let holder = match key {
            Some(key)
                if key.len() > MAX_KEY || key.contains(char::is_control) || key.is_empty() =>
            {
                return Err(ChatError::Invalid {
                    what: "a key is 1 to 64 characters".into(),
                })
            }
            Some(key) => format!("key:{key}"),
            None => format!("{}:{connection}", self.0.node),
        };
        let info = RawValue::from_string("{}".to_owned()).expect("valid JSON");
        let claim = match self.0.presence.join(&room, &name, &holder, &info).await {
            Ok(Joined::Taken) => return Err(ChatError::NameTaken { name }),
            Ok(joined) => joined.claim().cloned().expect("a join that was not taken"),
            Err(err) => return Err(unavailable(err)),
        };
        let (first, before) = {
            let mut joined = self.0.joined.lock().expect("joined lock");
            let first = !joined.contains_key(&connection);
            let before = joined
                .entry(connection)
                .or_default()
                .insert(room.clone(), (name.clone(), claim));
            (first, before)
        };
        if let Some((old, old_claim)) = before.filter(|(old, _)| *old != name) {
            // Joined again under another name: the old one leaves.
            if let Err(err) = self.0.presence.leave(&room, &old, &old_claim).await {
                eprintln!("could not leave {room} as {old}: {err}");
            }
        }
        if first {
            self.leave_on_close(&ctx);
        }
        self.members(&room).await
    }

    async fn send(&self, ctx: Context, room: String, text: String) -> Result<u64, ChatError> {
        check(&text, MAX_TEXT, "a message is 1 to 2000 characters")?;
        let (from, _) = self
            .joined_as(ctx.connection_id(), &room)
            .ok_or(ChatError::NotJoined)?;
        let at = bus::publish(&*self.0.bus, &room, &RoomEvent::Message { from, text })
            .await
            .map_err(unavailable)?;
        Ok(at.offset)
    }

    async fn users(&self, room: String) -> Result<Vec<String>, ChatError> {
        self.members(&room).await
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

/// The command line: `--listen ADDR` (default 127.0.0.1:4000), `--redis
/// URL`, and `--presence-ttl SECONDS` (default 15).
struct Options {
    listen: SocketAddr,
    redis: Option<String>,
    presence_ttl: Duration,
}

fn options() -> Result<Options, String> {
    let usage = "usage: chat [--listen ADDR] [--redis URL] [--presence-ttl SECONDS]";
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:4000".to_owned();
    let mut redis = None;
    let mut presence_ttl = Duration::from_secs(15);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            "--redis" => redis = Some(args.next().ok_or("--redis needs a URL")?),
            "--presence-ttl" => {
                let seconds = args.next().ok_or("--presence-ttl needs seconds")?;
                let seconds: f64 = seconds
                    .parse()
                    .map_err(|err| format!("bad --presence-ttl {seconds:?}: {err}"))?;
                presence_ttl = Duration::try_from_secs_f64(seconds)
                    .map_err(|err| format!("bad --presence-ttl {seconds}: {err}"))?;
            }
            other => return Err(format!("unknown argument {other:?}; {usage}")),
        }
    }
    let listen = listen
        .parse()
        .map_err(|err| format!("bad --listen address {listen:?}: {err}"))?;
    Ok(Options {
        listen,
        redis,
        presence_ttl,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    // Installed before any connection opens, so every one is counted.
    let prometheus = PrometheusBuilder::new()
        .set_buckets(&[0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0])?
        .install_recorder()?;
    let (bus, presence): (Arc<dyn Bus>, Arc<dyn Presence>) = if let Some(url) = options.redis {
        let bus = RedisBus::builder(url).connect().await?;
        let presence = RedisPresence::new(&bus)
            .ttl(options.presence_ttl)
            .announce(announce());
        (Arc::new(bus), Arc::new(presence))
    } else {
        let bus: Arc<dyn Bus> = Arc::new(InProcessBus::default());
        let presence = InProcessPresence::new(bus.clone()).announce(announce());
        (bus, Arc::new(presence))
    };
    let mut router = ChatService::new(bus, presence).into_router();
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
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
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
