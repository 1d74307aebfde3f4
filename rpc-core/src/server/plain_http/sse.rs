//! A subscription over Server-Sent Events. The subscribe call's answer is
//! the first event; each notification that follows is an event whose `id:`
//! is the item's position (`epoch:offset`) when it has one, so a client
//! that reconnects with `Last-Event-ID` is resumed exactly as `rpc.resume`
//! resumes a WebSocket client (resumed, gap n, or restarted, then the
//! items). A comment every 15 s keeps proxies from closing a quiet stream.
//! The stream ends after the subscription's end notice, on server
//! shutdown, or when the client goes away (the subscription then ends as
//! an unsubscribe ends it).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde::Deserialize;

use super::super::accept::Slot;
use super::{h, plain, HttpBody, Server};
use crate::protocol::{encode, envelope, ErrorCode, ErrorObject, Incoming, Message};
use crate::router::{prepare_message, Context, Extensions};
use crate::session::call::take_own;
use crate::session::{Closed, Outbound, OutboundReceiver, Peer, Session};

/// How often a quiet stream says it is alive.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// Ids for event-stream sessions, apart from WebSocket connections'.
static STREAMS: AtomicU64 = AtomicU64::new(1 << 62);

/// Where this process's event streams number their subscriptions from:
/// each stream is a session of its own, and one client may hold many
/// streams, so their ids must differ. A random start keeps the ids of
/// nodes behind one address apart as well.
static SUBSCRIPTION_IDS: std::sync::LazyLock<AtomicU64> = std::sync::LazyLock::new(|| {
    use std::hash::{BuildHasher, Hasher};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    // Room to count up for ever without wrapping.
    AtomicU64::new((random >> 4) | 1)
});

/// Answers a subscribe call (`call`, a JSON-RPC request) as an event stream.
pub(super) fn stream(
    server: &Server,
    head: &h::Request<()>,
    call: &str,
    extensions: Extensions,
    remote_addr: Option<SocketAddr>,
    slot: Slot,
) -> h::Response<HttpBody> {
    let Message::Single(Incoming::Request(request)) = Message::parse(call) else {
        return plain(
            h::StatusCode::BAD_REQUEST,
            "an event stream answers one subscribe call (a request with an id)",
        );
    };
    let frame = match last_event_id(head) {
        Some(Ok((epoch, offset))) => {
            let params = envelope::resume_params(&request.method, request.params, epoch, offset);
            encode::request(&request.id, envelope::RESUME_METHOD, Some(&params))
        }
        Some(Err(why)) => return plain(h::StatusCode::BAD_REQUEST, why),
        None => call.to_owned(),
    };
    let shared = &server.shared;
    let (session, outbound) = Session::new(shared.connection.clone());
    session
        .subscriptions()
        .number_from(SUBSCRIPTION_IDS.fetch_add(1, Ordering::Relaxed));
    let peer = Peer::fixed(session.clone());
    let id = STREAMS.fetch_add(1, Ordering::Relaxed);
    let ctx = Context::with_peer(extensions, remote_addr, Some(peer), id);
    let events = Events {
        server: server.clone(),
        session,
        outbound,
        ctx,
        call: Some(frame),
        done: false,
        heartbeat: tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT),
        early: std::collections::VecDeque::new(),
        _slot: slot,
    };
    let body = futures_util::stream::unfold(events, |mut events| async move {
        let chunk = events.next().await?;
        Some((Ok::<_, Infallible>(Frame::data(chunk)), events))
    });
    let mut response = h::Response::new(BodyExt::boxed_unsync(StreamBody::new(body)));
    let headers = response.headers_mut();
    headers.insert(
        h::header::CONTENT_TYPE,
        h::HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        h::header::CACHE_CONTROL,
        h::HeaderValue::from_static("no-cache"),
    );
    response
}

/// `Last-Event-ID: epoch:offset`, if sent.
fn last_event_id(head: &h::Request<()>) -> Option<Result<(&str, u64), &'static str>> {
    let value = head.headers().get("last-event-id")?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|text| text.rsplit_once(':'))
        .and_then(|(epoch, offset)| Some((epoch, offset.parse().ok()?)));
    Some(parsed.ok_or("Last-Event-ID is an event id of this stream: epoch:offset"))
}

/// One event stream: its session, and where it stands.
struct Events {
    server: Server,
    session: Arc<Session>,
    outbound: OutboundReceiver,
    ctx: Context,
    /// The subscribe call, until it is made.
    call: Option<String>,
    done: bool,
    heartbeat: tokio::time::Interval,
    /// Events the session queued while the call was being answered.
    early: std::collections::VecDeque<Bytes>,
    /// The stream holds a connection's place while it lasts.
    _slot: Slot,
}

impl Events {
    /// The next bytes to send, or `None` once the stream is over.
    async fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        if let Some(call) = self.call.take() {
            return Some(self.subscribe(&call).await);
        }
        if let Some(event) = self.early.pop_front() {
            return Some(event);
        }
        loop {
            tokio::select! {
                biased;
                queued = self.outbound.recv() => match queued {
                    Some(Outbound::Text(frame)) => {
                        if let Some(event) = self.event(&frame) {
                            return Some(event);
                        }
                    }
                    Some(Outbound::Close(_)) | None => return None,
                },
                () = self.session.token().cancelled() => return None,
                _ = self.heartbeat.tick() => return Some(Bytes::from_static(b": alive\n\n")),
                () = self.server.shared.drain.cancelled() => return None,
            }
        }
    }

    /// Makes the subscribe call; its answer is the first event.
    async fn subscribe(&mut self, call: &str) -> Bytes {
        let router = self.server.shared.router.clone();
        let ctx = self.ctx.clone();
        let mut started = prepare_message(&router, Message::parse(call), &ctx);
        let reply = match started.poll_now() {
            std::task::Poll::Ready(reply) => reply,
            std::task::Poll::Pending => {
                // Meanwhile the handler may call the client: refused at once.
                let finish = started.finish();
                tokio::pin!(finish);
                loop {
                    tokio::select! {
                        reply = &mut finish => break reply,
                        queued = self.outbound.recv() => match queued {
                            Some(Outbound::Text(frame)) => {
                                if let Some(event) = self.event(&frame) {
                                    self.early.push_back(event);
                                }
                            }
                            Some(Outbound::Close(_)) | None => break finish.await,
                        },
                    }
                }
            }
        };
        let Some(reply) = reply else {
            self.done = true;
            return Bytes::new();
        };
        if reply.release.is_empty() {
            // Refused (or not a subscription): the answer says why, and ends it.
            self.done = true;
        }
        let event = data(None, &reply.frame);
        // The answer is on its way first; now the items may follow.
        for release in reply.release {
            let _ = release.send(());
        }
        event
    }

    /// The event for a frame the session queued; `None` for a call to the
    /// client, which is refused on the spot.
    fn event(&mut self, frame: &str) -> Option<Bytes> {
        let calls: Vec<_> = match Message::parse(frame) {
            Message::Single(Incoming::Request(call)) => vec![call.id],
            Message::Batch(items) => items
                .into_iter()
                .filter_map(|item| match item {
                    Incoming::Request(call) => Some(call.id),
                    _ => None,
                })
                .collect(),
            Message::Single(_) => Vec::new(),
        };
        if !calls.is_empty() {
            let refusal = ErrorObject::new(
                ErrorCode::MethodNotFound,
                "calls to the client are not possible over HTTP",
            );
            for id in calls {
                let answer = encode::response_err(&id, &refusal);
                if let Message::Single(incoming) = Message::parse(&answer) {
                    let _ = take_own(&self.session, incoming);
                }
            }
            return None;
        }
        let peek: Peek = serde_json::from_str(frame).unwrap_or_default();
        let params = peek.params.unwrap_or_default();
        if params.ended.unwrap_or(false) || params.error.is_some() {
            self.done = true;
        }
        let id = params
            .position
            .map(|position| format!("{}:{}", position.epoch, position.offset));
        Some(data(id.as_deref(), frame))
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        // The client went away, or the stream is over: the subscription
        // ends as an unsubscribe ends it.
        self.session
            .shut_down(Closed::new(None, "the event stream ended"));
    }
}

/// One event: its id, if any, and its data, a line at a time.
fn data(id: Option<&str>, frame: &str) -> Bytes {
    let mut event = String::with_capacity(frame.len() + 32);
    if let Some(id) = id {
        event.push_str("id: ");
        event.push_str(id);
        event.push('\n');
    }
    // Every line break SSE knows (CR, LF, CRLF) starts a new data line.
    for line in frame.split(['\r', '\n']).filter(|line| !line.is_empty()) {
        event.push_str("data: ");
        event.push_str(line);
        event.push('\n');
    }
    event.push('\n');
    Bytes::from(event)
}

/// What an event's id and the stream's end are read from.
#[derive(Default, Deserialize)]
struct Peek {
    params: Option<PeekParams>,
}

#[derive(Default, Deserialize)]
struct PeekParams {
    position: Option<PeekPosition>,
    ended: Option<bool>,
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct PeekPosition {
    epoch: String,
    offset: u64,
}
