//! A subscription's event stream: the first event is the subscribe call's
//! answer, each later one a notification, handed to the session as frames.
//! The stream ends quietly after the subscription's end notice or an
//! unsubscribe; cut any other way (the body ends or fails, or stays silent
//! past the idle time), the connection counts as lost, so a reconnecting
//! client resumes the subscription from its last position.

use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming as Body;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use wirecall_core::protocol::{Id, Incoming, Message};

use super::exchange::Exchange;
use crate::error::with_causes;

/// Follows one stream until it ends.
pub(super) async fn follow(exchange: &Exchange, mut body: Body, call: &Id) {
    let mut reader = EventReader::new(exchange.target.max_message_size);
    let token = CancellationToken::new();
    let mut subscription: Option<String> = None;
    let mut finished = false;
    let idle = exchange.target.stream_idle;
    let why = loop {
        let next = tokio::select! {
            () = token.cancelled() => break None,
            next = read(&mut body, idle) => next,
        };
        let chunk = match next {
            Ok(Some(chunk)) => chunk,
            Ok(None) if finished => break None,
            Ok(None) => {
                break Some("the event stream ended before the subscription did".to_owned())
            }
            Err(why) => break Some(why),
        };
        if let Err(why) = reader.push(&chunk) {
            break Some(why);
        }
        let mut gone = false;
        while let Some(data) = reader.next_event() {
            if subscription.is_none() && !finished {
                match started(&data, call) {
                    Some(id) => {
                        exchange.open_stream(id.clone(), token.clone());
                        subscription = Some(id);
                    }
                    // Refused: the answer says why, and the stream ends.
                    None => finished = true,
                }
            } else if is_end(&data) {
                finished = true;
            }
            if !exchange.deliver(data).await {
                gone = true;
                break;
            }
        }
        if gone {
            break None;
        }
    };
    if let Some(id) = &subscription {
        exchange.forget_stream(id);
    }
    if let Some(why) = why {
        exchange.lose(why).await;
    }
}

/// The next bytes of the body: `None` at its end, `Err` when it fails or
/// stays silent past `idle`.
async fn read(body: &mut Body, idle: Option<Duration>) -> Result<Option<bytes::Bytes>, String> {
    loop {
        let frame = match idle {
            Some(idle) => tokio::time::timeout(idle, body.frame())
                .await
                .map_err(|_| format!("the event stream stayed silent for {idle:?}"))?,
            None => body.frame().await,
        };
        match frame {
            None => return Ok(None),
            Some(Err(err)) => return Err(format!("the event stream broke: {}", with_causes(&err))),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    return Ok(Some(data));
                }
            }
        }
    }
}

/// The subscription id an answer to `call` gives, if it is a success.
fn started(frame: &str, call: &Id) -> Option<String> {
    let Message::Single(Incoming::Response(answer)) = Message::parse(frame) else {
        return None;
    };
    if answer.id != *call {
        return None;
    }
    serde_json::from_str(answer.outcome.ok()?.get()).ok()
}

/// Whether a notification is its subscription's end notice (a normal end
/// or an error).
fn is_end(frame: &str) -> bool {
    #[derive(Deserialize)]
    struct Notice {
        params: Params,
    }
    #[derive(Deserialize)]
    struct Params {
        #[serde(default)]
        ended: bool,
        error: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Notice>(frame)
        .is_ok_and(|notice| notice.params.ended || notice.params.error.is_some())
}

/// Splits a byte stream into the data of its events, holding at most
/// `limit` bytes of an unfinished one (an event-stream parser that buffers
/// without a bound would let a server grow the client's memory at will).
#[derive(Debug)]
struct EventReader {
    pending: Vec<u8>,
    data: String,
    has_data: bool,
    limit: usize,
}

impl EventReader {
    fn new(limit: usize) -> EventReader {
        EventReader {
            pending: Vec::new(),
            data: String::new(),
            has_data: false,
            limit,
        }
    }

    fn push(&mut self, chunk: &[u8]) -> Result<(), String> {
        if self.pending.len() + self.data.len() + chunk.len() > self.limit.saturating_add(2) {
            return Err(format!(
                "an event is larger than max_message_size ({} bytes)",
                self.limit
            ));
        }
        self.pending.extend_from_slice(chunk);
        Ok(())
    }

    /// The data of the next whole event, if one has arrived.
    fn next_event(&mut self) -> Option<String> {
        loop {
            let (line_len, break_len) = line_end(&self.pending)?;
            let line: Vec<u8> = self
                .pending
                .drain(..line_len + break_len)
                .take(line_len)
                .collect();
            if line.is_empty() {
                if !self.has_data {
                    continue;
                }
                self.has_data = false;
                if self.data.ends_with('\n') {
                    self.data.pop();
                }
                return Some(std::mem::take(&mut self.data));
            }
            let line = String::from_utf8_lossy(&line);
            // Comments (the server's heartbeats) start with a colon.
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((&line, ""));
            if field == "data" {
                self.data.push_str(value.strip_prefix(' ').unwrap_or(value));
                self.data.push('\n');
                self.has_data = true;
            }
            // `id`, `event` and `retry` ask nothing of this client: the
            // items carry their positions themselves.
        }
    }
}

/// Where the first line of `bytes` ends and how long its break is (CR,
/// LF or CRLF); `None` until a line is whole. A CR at the very end waits
/// for the next byte, which may be its LF.
fn line_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let at = bytes.iter().position(|&b| b == b'\n' || b == b'\r')?;
    if bytes[at] == b'\n' {
        return Some((at, 1));
    }
    match bytes.get(at + 1) {
        Some(b'\n') => Some((at, 2)),
        Some(_) => Some((at, 1)),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::EventReader;

    fn events(chunks: &[&str]) -> Vec<String> {
        let mut reader = EventReader::new(1 << 20);
        let mut out = Vec::new();
        for chunk in chunks {
            reader.push(chunk.as_bytes()).unwrap();
            while let Some(data) = reader.next_event() {
                out.push(data);
            }
        }
        out
    }

    #[test]
    fn events_split_across_chunks_and_line_breaks_of_every_kind() {
        let got = events(&[
            "id: e:1\nda",
            "ta: {\"a\":1}\n\n: alive\n\n",
            "data: x\r",
            "\ndata: y\r\rdata:z\n\n",
        ]);
        assert_eq!(got, ["{\"a\":1}", "x\ny", "z"]);
    }

    #[test]
    fn an_event_past_the_limit_is_refused() {
        let mut reader = EventReader::new(8);
        reader.push(b"data: 12").unwrap();
        assert!(reader.push(b"3456789\n").is_err());
    }
}
