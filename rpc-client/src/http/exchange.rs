//! One request and what comes of it: a call's answer, a batch's answers,
//! a subscription's event stream, or an error that says what HTTP said.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as Body;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;
use wirecall_core::protocol::{encode, ErrorCode, ErrorObject, Id};

use super::{events, Target};
use crate::error::with_causes;

/// What a request hands back to the session.
#[derive(Debug)]
pub(super) enum Inbound {
    Frame(String),
    /// The server could not be reached, or a stream was cut: the session
    /// ends as if its WebSocket had dropped (a reconnecting client carries
    /// on, resuming its subscriptions).
    Lost(String),
}

/// A call may be answered either way; the server picks a stream only for
/// a subscription.
const JSON_OR_EVENTS: &str = "application/json, text/event-stream";

/// How much of a refusal's body goes into the error's message.
const REFUSAL_TEXT: usize = 512;

/// The requests of one socket, and its open event streams.
#[derive(Debug)]
pub(super) struct Exchange {
    pub(super) target: Arc<Target>,
    inbound: mpsc::Sender<Inbound>,
    /// Each open stream by its subscription id; cancelling one ends it.
    streams: Mutex<HashMap<String, CancellationToken>>,
}

impl Exchange {
    pub(super) fn new(target: Arc<Target>, inbound: mpsc::Sender<Inbound>) -> Exchange {
        Exchange {
            target,
            inbound,
            streams: Mutex::default(),
        }
    }

    /// Posts a call; its answer is JSON, or for a subscription a stream.
    pub(super) async fn call(&self, frame: String, id: Id, permit: Option<OwnedSemaphorePermit>) {
        let Some(response) = self.post(frame, JSON_OR_EVENTS).await else {
            return;
        };
        if is_event_stream(&response) {
            // A stream lasts; the request is over.
            drop(permit);
            events::follow(self, response.into_body(), &id).await;
        } else {
            self.answer(response, &[id]).await;
        }
    }

    /// Posts a batch; `ids` are its calls (its notifications need nothing).
    pub(super) async fn batch(
        &self,
        frame: String,
        ids: Vec<Id>,
        _permit: Option<OwnedSemaphorePermit>,
    ) {
        if let Some(response) = self.post(frame, "application/json").await {
            self.answer(response, &ids).await;
        }
    }

    /// Posts a notification: nothing comes back but a status.
    pub(super) async fn notify(&self, frame: String, _permit: Option<OwnedSemaphorePermit>) {
        if let Some(response) = self.post(frame, "application/json").await {
            let status = response.status();
            if !status.is_success() {
                let text = refusal_text(response.into_body()).await;
                tracing::warn!(%status, %text, "the server refused a notification");
            }
        }
    }

    /// Marks the stream of subscription `id` as open; `token` ends it.
    pub(super) fn open_stream(&self, id: String, token: CancellationToken) {
        self.streams.lock().expect("streams lock").insert(id, token);
    }

    pub(super) fn forget_stream(&self, id: &str) {
        self.streams.lock().expect("streams lock").remove(id);
    }

    /// Ends the stream of subscription `id`, if one is open: over HTTP,
    /// closing the stream is what unsubscribes.
    pub(super) fn end_stream(&self, id: Option<String>) -> bool {
        let Some(id) = id else { return false };
        let token = self.streams.lock().expect("streams lock").remove(&id);
        token.inspect(CancellationToken::cancel).is_some()
    }

    /// Hands a frame to the session; `false` once the session is gone.
    pub(super) async fn deliver(&self, frame: String) -> bool {
        self.inbound.send(Inbound::Frame(frame)).await.is_ok()
    }

    pub(super) async fn lose(&self, why: String) {
        let _ = self.inbound.send(Inbound::Lost(why)).await;
    }

    async fn post(&self, frame: String, accept: &'static str) -> Option<Response<Body>> {
        let target = &self.target;
        let mut request = Request::new(Full::new(Bytes::from(frame)));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = target.uri.clone();
        let headers = request.headers_mut();
        headers.clone_from(&target.headers);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCEPT, HeaderValue::from_static(accept));
        match target.client.request(request).await {
            Ok(response) => Some(response),
            Err(err) => {
                self.lose(format!("the HTTP request failed: {}", with_causes(&err)))
                    .await;
                None
            }
        }
    }

    /// The answer to calls `ids`, as JSON, or an error for each saying
    /// what HTTP said instead.
    async fn answer(&self, response: Response<Body>, ids: &[Id]) {
        let status = response.status();
        if status == StatusCode::NO_CONTENT || !status.is_success() {
            if ids.is_empty() {
                return;
            }
            let text = refusal_text(response.into_body()).await;
            let refusal = ErrorObject::new(
                ErrorCode::HTTP_REFUSED,
                format!("the server answered HTTP {status} instead: {text}"),
            )
            .with_data(&serde_json::json!({ "status": status.as_u16() }));
            for id in ids {
                self.deliver(encode::response_err(id, &refusal)).await;
            }
            return;
        }
        let limit = self.target.max_message_size;
        match Limited::new(response.into_body(), limit).collect().await {
            Ok(body) => match String::from_utf8(body.to_bytes().into()) {
                Ok(frame) => {
                    self.deliver(frame).await;
                }
                Err(_) => self.refuse(ids, "the answer is not UTF-8").await,
            },
            Err(err) if err.is::<http_body_util::LengthLimitError>() => {
                let why = format!("the answer is larger than max_message_size ({limit} bytes)");
                self.refuse(ids, &why).await;
            }
            Err(err) => {
                self.lose(format!("reading an answer failed: {}", with_causes(&*err)))
                    .await;
            }
        }
    }

    /// Fails calls `ids` with -32603 saying `why`.
    async fn refuse(&self, ids: &[Id], why: &str) {
        let refusal = ErrorObject::internal_error(why);
        for id in ids {
            self.deliver(encode::response_err(id, &refusal)).await;
        }
    }
}

fn is_event_stream(response: &Response<Body>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The start of a refusal's body, as text on one line.
async fn refusal_text(mut body: Body) -> String {
    let mut start = Vec::new();
    while start.len() < REFUSAL_TEXT {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    start.extend_from_slice(data);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    start.truncate(REFUSAL_TEXT);
    let text = String::from_utf8_lossy(&start);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        "(no body)".to_owned()
    } else {
        text
    }
}
