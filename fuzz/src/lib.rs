//! Shared pieces of the fuzz targets: an in-memory WebSocket for the engine,
//! and the router the targets serve.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};

use futures_util::{Sink, Stream};
use wirecall::io::{WsError, WsMessage};
use wirecall::{Context, ErrorObject, Params, PendingSubscription, Router, SinkConfig};

/// Frames written by the engine, kept for the invariants.
pub type Written = Arc<Mutex<Vec<WsMessage>>>;

/// The engine's side of an in-memory socket: reads what the target feeds
/// through `incoming`, keeps what it writes.
pub struct MemorySocket {
    pub incoming: futures_util::stream::BoxStream<'static, WsMessage>,
    pub written: Written,
}

impl Stream for MemorySocket {
    type Item = Result<WsMessage, WsError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.as_mut().poll_next(cx).map(|next| next.map(Ok))
    }
}

impl Sink<WsMessage> for MemorySocket {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: WsMessage) -> Result<(), WsError> {
        let mut written = self.written.lock().unwrap();
        // Memory stays bounded: no input of the fuzzer's size may make the
        // engine write without end.
        assert!(written.len() < 100_000, "the engine wrote without bound");
        written.push(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }
}

/// `echo(x)`, `sum([..])`, `fail()`, and `count(n)` (n ≤ 8 items).
pub fn router() -> Router {
    let mut router = Router::new();
    router
        .method("echo", |params: Params<'_>, _: &Context| {
            let (value,): (serde_json::Value,) = params.parse()?;
            Ok(async move { Ok::<_, ErrorObject>(value) })
        })
        .unwrap()
        .method("sum", |params: Params<'_>, _: &Context| {
            let values: Vec<i64> = params.parse()?;
            Ok(async move { Ok::<_, ErrorObject>(values.iter().fold(0i64, |a, b| a.wrapping_add(*b))) })
        })
        .unwrap()
        .method("fail", |_: Params<'_>, _: &Context| {
            Ok(async { Err::<(), _>(ErrorObject::invalid_request("always")) })
        })
        .unwrap()
        .subscription(
            "count",
            "counted",
            "stop_count",
            SinkConfig::default(),
            |params: Params<'_>, _: &Context, pending: PendingSubscription<u64>| {
                let (n,): (u64,) = params.parse()?;
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    for i in 0..n.min(8) {
                        if sink.send(&i).await.is_err() {
                            return;
                        }
                    }
                })
            },
        )
        .unwrap();
    router
}

/// How often each id (as JSON text) appears in `frames` outside an answer:
/// the most answers the engine may write for it.
pub fn request_ids(frames: &[String]) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for frame in frames {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(frame) else {
            continue;
        };
        let values = match value {
            serde_json::Value::Array(values) => values,
            one => vec![one],
        };
        for value in values {
            let is_answer = value.get("result").is_some() || value.get("error").is_some();
            if let Some(id) = value.get("id").filter(|_| !is_answer) {
                *ids.entry(id.to_string()).or_default() += 1;
            }
        }
    }
    ids
}

/// How often each id appears in the engine's written frames as an answer.
pub fn answer_ids(written: &[WsMessage]) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for message in written {
        let WsMessage::Text(text) = message else { continue };
        let value: serde_json::Value =
            serde_json::from_str(text.as_str()).expect("the engine writes valid JSON");
        let values = match value {
            serde_json::Value::Array(values) => values,
            one => vec![one],
        };
        for value in values {
            if value.get("method").is_none() {
                if let Some(id) = value.get("id").filter(|id| !id.is_null()) {
                    *ids.entry(id.to_string()).or_default() += 1;
                }
            }
        }
    }
    ids
}
