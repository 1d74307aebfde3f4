//! The task that reads a socket: it routes answers to waiting calls, items
//! to received subscriptions, and everything else to the router, with at
//! most `max_in_flight` calls running; it also keeps the connection alive.

use std::future::Future;

use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_util::sync::CancellationToken;

use super::session::{Outbound, Session};
use super::tables::Waiter;
use super::{CallError, Closed};
use crate::protocol::{encode, Id, Incoming, Message, Notification, Response};
use crate::router::{prepare_message, Context, Reply, Router};
use crate::subscription::{EventQueue, RawEvent};
use crate::ErrorObject;

pub(crate) struct Reader {
    pub(crate) session: Arc<Session>,
    pub(crate) router: Arc<Router>,
    pub(crate) ctx: Context,
    pub(crate) drain: CancellationToken,
    /// Dropped with the reader, when the connection has ended.
    pub(crate) guard: Option<Arc<dyn std::any::Any + Send + Sync>>,
    permits: Arc<Semaphore>,
    tasks: JoinSet<()>,
    last_heard: Instant,
    /// A request frame that found no free permit, with its weight. The reader
    /// keeps reading answers meanwhile, so handlers waiting on the peer can
    /// finish; a second request frame makes it wait.
    parked: Option<(String, u32)>,
}

/// How the read loop ended.
enum End {
    Closed(Closed),
    /// A graceful stop was asked for: finish in-flight calls, then close.
    Drain,
}

impl Reader {
    pub(crate) fn new(
        session: Arc<Session>,
        router: Arc<Router>,
        ctx: Context,
        drain: CancellationToken,
    ) -> Reader {
        let permits = Arc::new(Semaphore::new(session.config.max_in_flight.max(1)));
        Reader {
            session,
            router,
            ctx,
            drain,
            guard: None,
            permits,
            tasks: JoinSet::new(),
            last_heard: Instant::now(),
            parked: None,
        }
    }

    pub(crate) async fn run<R>(mut self, mut stream: R, drain_deadline: std::time::Duration)
    where
        R: Stream<Item = Result<WsMessage, WsError>> + Unpin,
    {
        let end = self.read_loop(&mut stream).await;
        match end {
            End::Closed(closed) => {
                self.tasks.abort_all();
                self.session.shut_down(closed);
            }
            End::Drain => {
                let finished = tokio::time::timeout(drain_deadline, async {
                    while self.tasks.join_next().await.is_some() {}
                })
                .await;
                if finished.is_err() {
                    tracing::warn!("calls still running at the shutdown deadline were cancelled");
                }
                self.tasks.abort_all();
                let frame = CloseFrame {
                    code: CloseCode::Away,
                    reason: "server shutting down".into(),
                };
                self.session.send_close(frame).await;
                let _ = tokio::time::timeout(
                    self.session.config.write_timeout,
                    self.session.token().cancelled(),
                )
                .await;
                self.session
                    .shut_down(Closed::new(Some(1001), "server shutting down"));
            }
        }
    }

    async fn read_loop<R>(&mut self, stream: &mut R) -> End
    where
        R: Stream<Item = Result<WsMessage, WsError>> + Unpin,
    {
        let config = self.session.config.clone();
        let tick = config
            .ping_interval
            .or(config.idle_timeout)
            .unwrap_or(std::time::Duration::from_secs(3600));
        let mut keepalive = tokio::time::interval_at(tokio::time::Instant::now() + tick, tick);
        loop {
            let parked_weight = self.parked.as_ref().map_or(1, |(_, weight)| *weight);
            let next = tokio::select! {
                next = stream.next() => next,
                Ok(permit) = self.permits.clone().acquire_many_owned(parked_weight), if self.parked.is_some() => {
                    if let Some((frame, _)) = self.parked.take() {
                        self.run_parked(&frame, permit).await;
                    }
                    continue;
                }
                Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => continue,
                _ = keepalive.tick() => {
                    if let Some(end) = self.keep_alive() {
                        return end;
                    }
                    continue;
                }
                () = self.drain.cancelled() => return End::Drain,
                () = self.session.token().cancelled() => return End::Closed(self.session.closed_reason()),
            };
            self.last_heard = Instant::now();
            match next {
                Some(Ok(WsMessage::Text(text))) => {
                    // Boxed so an idle connection does not carry dispatch state.
                    Box::pin(self.on_frame(text.as_str())).await;
                    self.last_heard = Instant::now();
                }
                Some(Ok(WsMessage::Binary(bytes))) => {
                    if let Ok(text) = std::str::from_utf8(&bytes) {
                        Box::pin(self.on_frame(text)).await;
                    } else {
                        let reply = encode::response_err(&Id::Null, &ErrorObject::parse_error());
                        let _ = self.session.send_frame(reply).await;
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let (code, reason) = frame.map_or((1005, String::new()), |f| {
                        (u16::from(f.code), f.reason.to_string())
                    });
                    return End::Closed(Closed::new(
                        Some(code),
                        format!("closed by the peer: {reason}"),
                    ));
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return self.on_error(err).await,
                None => return End::Closed(Closed::new(None, "the peer went away")),
            }
        }
    }

    /// Pings a quiet peer; ends the connection when it stays silent too long.
    fn keep_alive(&self) -> Option<End> {
        let silent = self.last_heard.elapsed();
        let config = &self.session.config;
        if config.idle_timeout.is_some_and(|limit| silent >= limit) {
            let frame = CloseFrame {
                code: CloseCode::Away,
                reason: "keep-alive timeout".into(),
            };
            self.session.try_send(Outbound::Close(Box::new(frame)));
            return Some(End::Closed(Closed::new(
                Some(1001),
                "the peer stayed silent past the idle timeout",
            )));
        }
        if config.ping_interval.is_some_and(|every| silent >= every) {
            self.session.try_send(Outbound::Ping);
        }
        None
    }

    async fn on_error(&self, err: WsError) -> End {
        let (code, reason) = match &err {
            WsError::Capacity(_) => (CloseCode::Size, "message too big"),
            WsError::Utf8(_) => (CloseCode::Invalid, "text frame is not UTF-8"),
            WsError::Protocol(_) => (CloseCode::Protocol, "protocol violation"),
            _ => return End::Closed(Closed::new(None, format!("read failed: {err}"))),
        };
        tracing::debug!(%err, "closing the connection");
        self.session
            .send_close(CloseFrame {
                code,
                reason: reason.into(),
            })
            .await;
        let _ = tokio::time::timeout(
            self.session.config.write_timeout,
            self.session.token().cancelled(),
        )
        .await;
        End::Closed(Closed::new(Some(code.into()), reason))
    }

    async fn on_frame(&mut self, frame: &str) {
        let mut consumed_own = false;
        let message = match Message::parse(frame) {
            Message::Single(incoming) => match self.take_own(incoming) {
                Some(incoming) => Message::Single(incoming),
                None => return,
            },
            Message::Batch(items) => {
                let total = items.len();
                let rest: Vec<_> = items
                    .into_iter()
                    .filter_map(|item| self.take_own(item))
                    .collect();
                consumed_own = rest.len() < total;
                if rest.is_empty() {
                    return;
                }
                if rest.len() > self.session.config.max_batch_len {
                    let error = ErrorObject::invalid_request(format!(
                        "a batch of {} exceeds the limit of {}",
                        rest.len(),
                        self.session.config.max_batch_len
                    ));
                    let _ = self
                        .session
                        .send_frame(encode::response_err(&Id::Null, &error))
                        .await;
                    return;
                }
                Message::Batch(rest)
            }
        };
        let weight = weight_of(&message, self.session.config.max_in_flight);
        if let Some((parked, _)) = self.parked.take() {
            // A second request frame: now the reader waits for the first.
            if let Ok(permit) = self.permits.clone().acquire_many_owned(weight).await {
                self.run_parked(&parked, permit).await;
            }
        }
        let permit = match self.permits.clone().try_acquire_many_owned(weight) {
            Ok(permit) => permit,
            Err(_) if !consumed_own => {
                self.parked = Some((frame.to_owned(), weight));
                return;
            }
            Err(_) => match self.permits.clone().acquire_many_owned(weight).await {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        self.dispatch(message, permit).await;
    }

    /// Runs a parked frame (it held only calls, so nothing is routed twice).
    async fn run_parked(&mut self, frame: &str, permit: OwnedSemaphorePermit) {
        let message = Message::parse(frame);
        self.dispatch(message, permit).await;
    }

    async fn dispatch(&mut self, message: Message<'_>, permit: OwnedSemaphorePermit) {
        let reply = prepare_message(&self.router, message, &self.ctx, Some(&self.session));
        let mut reply = Box::pin(reply);
        // Most handlers finish without waiting: answer those here and save a task.
        let polled = reply.as_mut().poll(&mut TaskContext::from_waker(
            futures_util::task::noop_waker_ref(),
        ));
        match polled {
            Poll::Ready(reply) => {
                drop(permit);
                send_reply(&self.session, reply).await;
            }
            Poll::Pending => {
                let session = self.session.clone();
                self.tasks.spawn(async move {
                    let reply = reply.await;
                    send_reply(&session, reply).await;
                    drop(permit);
                });
            }
        }
    }

    /// Consumes what belongs to this end's own calls and subscriptions;
    /// returns the rest for the router.
    fn take_own<'a>(&self, incoming: Incoming<'a>) -> Option<Incoming<'a>> {
        match incoming {
            Incoming::Response(response) => {
                self.complete(response);
                None
            }
            Incoming::Notification(note) if !self.session.client_subscriptions.is_empty() => {
                if self.deliver(&note) {
                    None
                } else {
                    Some(Incoming::Notification(note))
                }
            }
            other => Some(other),
        }
    }

    fn complete(&self, response: Response<'_>) {
        let Some(waiter) = response
            .id
            .as_u64()
            .and_then(|id| self.session.pending.remove(id))
        else {
            tracing::debug!(id = %response.id, "dropped an answer with an unknown id");
            return;
        };
        let outcome = response
            .outcome
            .map(ToOwned::to_owned)
            .map_err(CallError::Rpc);
        match waiter {
            Waiter::Call(reply) => drop(reply.send(outcome)),
            Waiter::Subscribe {
                reply,
                unsubscribe,
                buffer,
            } => {
                let subscribed = outcome.map(|id| {
                    let queue = Arc::new(EventQueue::new(buffer));
                    self.session.client_subscriptions.insert(&id, queue.clone());
                    (
                        super::tables::ClientSubscriptionKey { id, unsubscribe },
                        queue,
                    )
                });
                if let Err(Ok((key, _))) = reply.send(subscribed) {
                    self.session.unsubscribe_in_background(&key);
                }
            }
            Waiter::Discard => {}
        }
    }

    /// Delivers a subscription notification; false when it is not one of ours.
    fn deliver(&self, note: &Notification<'_>) -> bool {
        #[derive(Deserialize)]
        struct Notice<'a> {
            #[serde(borrow)]
            subscription: &'a RawValue,
            #[serde(borrow, default)]
            result: Option<&'a RawValue>,
            #[serde(default)]
            error: Option<ErrorObject>,
            #[serde(default)]
            lagged: Option<u64>,
        }
        let Some(params) = note.params else {
            return false;
        };
        let Ok(notice) = serde_json::from_str::<Notice<'_>>(params.get()) else {
            return false;
        };
        let id = notice.subscription.get();
        let Some(queue) = self.session.client_subscriptions.get(id) else {
            return false;
        };
        if let Some(error) = notice.error {
            self.session.client_subscriptions.remove(id);
            queue.push(RawEvent::Closed(error));
        } else if let Some(lagged) = notice.lagged {
            queue.push(RawEvent::Lagged(lagged));
        } else if let Some(result) = notice.result {
            queue.push(RawEvent::Item(result.to_owned()));
        } else {
            return false;
        }
        true
    }
}

async fn send_reply(session: &Session, reply: Option<Reply>) {
    let Some(reply) = reply else { return };
    if session.send_frame(reply.frame).await.is_ok() {
        for release in reply.release {
            let _ = release.send(());
        }
    }
}

/// Permits a message takes: one per value, at most the in-flight bound.
fn weight_of(message: &Message<'_>, max_in_flight: usize) -> u32 {
    let values = match message {
        Message::Single(_) => 1,
        Message::Batch(items) => items.len(),
    };
    values.clamp(1, max_in_flight.max(1)) as u32
}
