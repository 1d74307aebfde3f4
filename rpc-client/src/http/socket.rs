//! The session's socket over HTTP: each frame written is posted (a task
//! per request, at most `requests_at_once` in flight, so the session waits
//! as it would on a full WebSocket), and each answer read comes back as a
//! frame.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_util::{Sink, Stream};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_util::sync::PollSemaphore;
use wirecall_core::protocol::{encode, Id, Incoming, Message};

use super::exchange::{Exchange, Inbound};
use super::Target;

/// Answers waiting for the session, from requests and event streams
/// together; a full queue holds them back.
const INBOUND: usize = 256;

/// A [`Socket`](wirecall_core::io::Socket) that speaks HTTP.
#[derive(Debug)]
pub(crate) struct HttpSocket {
    exchange: Arc<Exchange>,
    inbound: mpsc::Receiver<Inbound>,
    /// Frames made here: pongs, and the answers to unsubscribes.
    local: VecDeque<WsMessage>,
    requests: JoinSet<()>,
    permits: PollSemaphore,
    /// Taken in `poll_ready` for the frame `start_send` gets.
    permit: Option<OwnedSemaphorePermit>,
    /// The session's reader, woken when `local` gains a frame.
    reader: Option<Waker>,
    closed: bool,
}

impl HttpSocket {
    pub(crate) fn new(target: Arc<Target>, requests_at_once: usize) -> HttpSocket {
        let (sender, inbound) = mpsc::channel(INBOUND);
        HttpSocket {
            exchange: Arc::new(Exchange::new(target, sender)),
            inbound,
            local: VecDeque::new(),
            requests: JoinSet::new(),
            permits: PollSemaphore::new(Arc::new(Semaphore::new(requests_at_once.max(1)))),
            permit: None,
            reader: None,
            closed: false,
        }
    }

    fn answer_here(&mut self, message: WsMessage) {
        self.local.push_back(message);
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
    }

    /// Ends every request and stream; the session reads the end next.
    fn shut(&mut self) {
        self.closed = true;
        self.requests.abort_all();
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
    }

    fn post(&mut self, frame: String) {
        let permit = self.permit.take();
        let exchange = self.exchange.clone();
        match Message::parse(&frame) {
            Message::Single(Incoming::Request(call)) => {
                if self.exchange.end_stream(unsubscribed(call.params)) {
                    let answer = encode::response_ok(&call.id, &true_value());
                    self.answer_here(WsMessage::Text(answer.into()));
                    return;
                }
                let id = call.id;
                self.requests
                    .spawn(async move { exchange.call(frame, id, permit).await });
            }
            Message::Single(Incoming::Notification(notice)) => {
                if self.exchange.end_stream(unsubscribed(notice.params)) {
                    return;
                }
                self.requests
                    .spawn(async move { exchange.notify(frame, permit).await });
            }
            Message::Batch(items) => {
                let ids: Vec<Id> = items
                    .into_iter()
                    .filter_map(|item| match item {
                        Incoming::Request(call) => Some(call.id),
                        _ => None,
                    })
                    .collect();
                self.requests
                    .spawn(async move { exchange.batch(frame, ids, permit).await });
            }
            // Answers to calls from the server: none come over HTTP.
            Message::Single(_) => tracing::debug!("a frame with nothing to post was dropped"),
        }
    }
}

/// The one subscription id an unsubscribe names (`["<id>"]`), if `params`
/// are that shape.
fn unsubscribed(params: Option<&RawValue>) -> Option<String> {
    let (id,): (String,) = serde_json::from_str(params?.get()).ok()?;
    Some(id)
}

fn true_value() -> Box<RawValue> {
    RawValue::from_string("true".to_owned()).expect("valid JSON")
}

impl Stream for HttpSocket {
    type Item = Result<WsMessage, WsError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        while let Some(done) = this.requests.try_join_next() {
            if let Err(err) = done {
                if err.is_panic() {
                    tracing::error!(%err, "an HTTP request's task panicked");
                }
            }
        }
        if this.closed {
            return Poll::Ready(None);
        }
        if let Some(message) = this.local.pop_front() {
            return Poll::Ready(Some(Ok(message)));
        }
        match this.inbound.poll_recv(cx) {
            Poll::Ready(Some(Inbound::Frame(frame))) => {
                Poll::Ready(Some(Ok(WsMessage::Text(frame.into()))))
            }
            Poll::Ready(Some(Inbound::Lost(why))) => {
                this.shut();
                let lost = io::Error::new(io::ErrorKind::ConnectionAborted, why);
                Poll::Ready(Some(Err(WsError::Io(lost))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                this.reader = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Sink<WsMessage> for HttpSocket {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let this = self.get_mut();
        if this.closed {
            return Poll::Ready(Err(WsError::AlreadyClosed));
        }
        if this.permit.is_none() {
            match this.permits.poll_acquire(cx) {
                Poll::Ready(Some(permit)) => this.permit = Some(permit),
                Poll::Ready(None) => return Poll::Ready(Err(WsError::AlreadyClosed)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, message: WsMessage) -> Result<(), WsError> {
        let this = self.get_mut();
        if this.closed {
            return Err(WsError::AlreadyClosed);
        }
        match message {
            WsMessage::Text(frame) => this.post(frame.as_str().to_owned()),
            // Nothing on the way can go silent unseen: requests and
            // streams watch their own time, so the session's keep-alive is
            // answered here.
            WsMessage::Ping(payload) => {
                this.permit = None;
                this.answer_here(WsMessage::Pong(payload));
            }
            WsMessage::Close(_) => this.shut(),
            WsMessage::Binary(_) | WsMessage::Pong(_) | WsMessage::Frame(_) => this.permit = None,
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.get_mut().shut();
        Poll::Ready(Ok(()))
    }
}
