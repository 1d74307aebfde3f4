//! The one I/O task of a connection, its only reader and only writer. It
//! reads the socket and routes answers to waiting calls, items to received
//! subscriptions, and everything else to the router, with at most
//! `max_in_flight` calls running. Answers ready at once are written straight
//! away (several frames read together are answered with one flush), and
//! everything other tasks produce arrives through the bounded outbound
//! queue. It keeps the connection alive and closes it.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

use std::sync::Arc;
use std::task::Poll;

use crate::rt::{self, Instant, TaskSet};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_util::sync::CancellationToken;

use super::race::race;
use super::wake_gate::WakeGate;
use super::{ending, writer};
use crate::protocol::{encode, ErrorObject, Id, Message};
use crate::router::{prepare_message, Context, Reply, Router};
use crate::session::call::take_own;
use crate::session::{Closed, Outbound, OutboundReceiver, Session};
use crate::telemetry;

pub(super) struct IoTask {
    session: Arc<Session>,
    router: Arc<Router>,
    ctx: Context,
    /// Resolves when a graceful stop is asked for or the session ends.
    /// Made once and kept: a fresh wait on a token each time round the
    /// loop would register and unregister a waiter on every wake.
    stop: Pin<Box<dyn Future<Output = Event> + Send + Sync>>,
    permits: Arc<Semaphore>,
    tasks: TaskSet<()>,
    last_heard: Instant,
    /// Request frames that found no free permit, with their weights, in
    /// order. With one parked the task keeps reading (answers to calls its
    /// handlers made can still arrive); with [`PARK_MAX`] it stops reading
    /// until a permit frees, while it keeps writing.
    parked: VecDeque<(String, u32)>,
    /// Answers computed in this task, written before the next read.
    outbox: Vec<Reply>,
    /// Skip reading, `stop` and the keep-alive timer until each has woken
    /// the task (the socket, a token, the timer firing).
    read_gate: WakeGate,
    stop_gate: WakeGate,
    tick_gate: WakeGate,
    /// Payload bytes read since the last wake, reported once per wake.
    bytes_in: usize,
}

/// Parked request frames at which the task stops reading.
const PARK_MAX: usize = 2;

/// What the I/O loop woke up for.
enum Event {
    /// A frame another task queued for writing.
    Queued(Outbound),
    /// The socket's next read.
    Read(Option<Result<WsMessage, WsError>>),
    /// A permit for the oldest parked request frame.
    Permit(OwnedSemaphorePermit),
    /// A spawned call finished.
    Joined,
    /// Time to check on a quiet peer.
    Tick,
    /// A graceful stop was asked for.
    Drain,
    /// The session ended (closed from this side).
    Ended,
}

/// How the read loop ended.
enum End {
    Closed(Closed),
    /// A graceful stop was asked for: finish in-flight calls, then close.
    Drain,
}

impl IoTask {
    pub(super) fn new(
        session: Arc<Session>,
        router: Arc<Router>,
        ctx: Context,
        drain: Option<CancellationToken>,
    ) -> IoTask {
        let permits = Arc::new(Semaphore::new(session.config.max_in_flight.max(1)));
        let session_token = session.token().clone();
        IoTask {
            session,
            router,
            ctx,
            stop: Box::pin(stop_asked(drain, session_token)),
            permits,
            tasks: TaskSet::new(),
            last_heard: Instant::now(),
            parked: VecDeque::new(),
            outbox: Vec::new(),
            read_gate: WakeGate::new(),
            stop_gate: WakeGate::new(),
            tick_gate: WakeGate::new(),
            bytes_in: 0,
        }
    }

    /// The task's whole life. Written as a plain fn returning an `async
    /// move` block: an `async fn` would move its arguments (the socket
    /// among them) into its state a second time, in every connection.
    #[allow(clippy::manual_async_fn)] // on purpose, see above
    pub(super) fn run<W>(
        mut self,
        mut ws: W,
        mut queue: OutboundReceiver,
        drain_deadline: std::time::Duration,
    ) -> impl Future<Output = ()> + Send
    where
        W: Stream<Item = Result<WsMessage, WsError>>
            + Sink<WsMessage, Error = WsError>
            + Send
            + Unpin,
    {
        async move {
            let _open = telemetry::OpenConnection::start();
            let write_timeout = self.session.config.write_timeout;
            // The endings run once per connection and are boxed: inline, their
            // state would sit in every idle connection's task for its whole life.
            let closed = match self.io_loop(&mut ws, &mut queue).await {
                End::Closed(closed) => {
                    self.tasks.abort_all();
                    // Flushes a close reply tungstenite may have queued.
                    let _ = Box::pin(rt::timeout(write_timeout, ws.close())).await;
                    closed
                }
                End::Drain => Box::pin(self.drain(&mut ws, &mut queue, drain_deadline)).await,
            };
            telemetry::connection_closed(closed.code);
            self.session.shut_down(closed);
            queue.close();
        }
    }

    /// A graceful stop: see [`ending::drain`].
    async fn drain<W>(
        &mut self,
        ws: &mut W,
        queue: &mut OutboundReceiver,
        deadline: std::time::Duration,
    ) -> Closed
    where
        W: Sink<WsMessage, Error = WsError> + Unpin,
    {
        ending::drain(ws, queue, &mut self.tasks, &self.session, deadline).await
    }

    async fn io_loop<W>(&mut self, ws: &mut W, queue: &mut OutboundReceiver) -> End
    where
        W: Stream<Item = Result<WsMessage, WsError>> + Sink<WsMessage, Error = WsError> + Unpin,
    {
        let config = self.session.config.clone();
        let tick = config
            .ping_interval
            .or(config.idle_timeout)
            .unwrap_or(std::time::Duration::from_secs(3600));
        let mut keepalive = rt::interval_at(Instant::now() + tick, tick);
        // Writing and everything else take turns when both are ready, so a
        // queue that never empties (subscriptions streaming at full speed)
        // cannot starve reading, and a peer that never stops sending cannot
        // starve writing. Each turn handles at most `writer::COALESCE` frames.
        let mut write_turn = true;
        loop {
            let event = {
                let others = std::pin::pin!(self.next_event(ws, &mut keepalive));
                let queued = std::pin::pin!(async {
                    queue.recv().await.map_or(Event::Ended, Event::Queued)
                });
                race(queued, others, write_turn).await
            };
            write_turn = !matches!(event, Event::Queued(_));
            let next = match event {
                Event::Queued(out) => {
                    match writer::write_queued(
                        ws,
                        queue,
                        out,
                        config.write_timeout,
                        &self.session.counters,
                    )
                    .await
                    {
                        Ok(()) => continue,
                        Err(closed) => return End::Closed(closed),
                    }
                }
                Event::Read(next) => next,
                Event::Permit(permit) => {
                    if let Some((frame, _)) = self.parked.pop_front() {
                        self.run_parked(&frame, permit);
                    }
                    match self.flush_outbox(ws).await {
                        Ok(()) => continue,
                        Err(closed) => return End::Closed(closed),
                    }
                }
                Event::Joined => continue,
                Event::Tick => match Box::pin(self.keep_alive(ws)).await {
                    Some(end) => return end,
                    None => continue,
                },
                Event::Drain => return End::Drain,
                Event::Ended => return End::Closed(self.session.closed_reason()),
            };
            // Answer this frame and any others already readable, then flush once.
            let mut next = Some(next);
            let mut handled = 0;
            while let Some(message) = next.take() {
                if let Some(end) = self.on_message(ws, message).await {
                    return end;
                }
                handled += 1;
                if handled < writer::COALESCE && self.parked.len() < PARK_MAX {
                    next = self.read_gate.try_poll(|cx| ws.poll_next_unpin(cx));
                }
            }
            // Once per wake, not per frame: the clock is read only for the
            // keep-alive, which counts in seconds.
            self.last_heard = Instant::now();
            self.session
                .counters
                .bytes_received(std::mem::take(&mut self.bytes_in));
            if let Err(closed) = self.flush_outbox(ws).await {
                return End::Closed(closed);
            }
        }
    }

    /// Waits for anything but the outbound queue: a stop, a freed permit
    /// for a parked frame, a finished call, a frame to read, a keep-alive tick.
    async fn next_event<W>(&mut self, ws: &mut W, keepalive: &mut rt::Interval) -> Event
    where
        W: Stream<Item = Result<WsMessage, WsError>> + Unpin,
    {
        let parked_weight = self.parked.front().map_or(1, |(_, weight)| *weight);
        tokio::select! {
            biased;
            stop = std::future::poll_fn(|cx| self.stop_gate.poll(cx, |cx| self.stop.as_mut().poll(cx))) => stop,
            Ok(permit) = self.permits.clone().acquire_many_owned(parked_weight), if !self.parked.is_empty() => {
                Event::Permit(permit)
            }
            Some(_) = self.tasks.join_next(), if !self.tasks.is_empty() => Event::Joined,
            next = std::future::poll_fn(|cx| self.read_gate.poll(cx, |cx| ws.poll_next_unpin(cx))), if self.parked.len() < PARK_MAX => {
                Event::Read(next)
            }
            _ = std::future::poll_fn(|cx| self.tick_gate.poll(cx, |cx| keepalive.poll_tick(cx))) => Event::Tick,
        }
    }

    /// Handles one read result; `Some` when the connection must end.
    async fn on_message<W>(
        &mut self,
        ws: &mut W,
        next: Option<Result<WsMessage, WsError>>,
    ) -> Option<End>
    where
        W: Sink<WsMessage, Error = WsError> + Unpin,
    {
        match next {
            Some(Ok(WsMessage::Text(text))) => {
                self.bytes_in += text.len();
                self.on_frame(text.as_str());
            }
            Some(Ok(WsMessage::Binary(bytes))) => {
                self.bytes_in += bytes.len();
                if let Ok(text) = std::str::from_utf8(&bytes) {
                    self.on_frame(text);
                } else {
                    self.answer(encode::response_err(&Id::Null, &ErrorObject::parse_error()));
                }
            }
            Some(Ok(WsMessage::Close(frame))) => {
                let (code, reason) = frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                });
                return Some(End::Closed(Closed::new(
                    Some(code),
                    format!("closed by the peer: {reason}"),
                )));
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Some(Box::pin(self.on_error(ws, err)).await),
            None => return Some(End::Closed(Closed::new(None, "the peer went away"))),
        }
        None
    }

    /// Queues an answer made in this task for the next flush.
    fn answer(&mut self, frame: String) {
        self.outbox.push(Reply {
            frame,
            release: Vec::new(),
        });
    }

    /// Writes the answers made in this task, then lets any subscription they
    /// accepted start sending.
    async fn flush_outbox<W>(&mut self, ws: &mut W) -> Result<(), Closed>
    where
        W: Sink<WsMessage, Error = WsError> + Unpin,
    {
        if self.outbox.is_empty() {
            return Ok(());
        }
        let timeout = self.session.config.write_timeout;
        let mut release = Vec::new();
        // Drained in place: the outbox keeps its room for the next answers.
        let frames = self.outbox.drain(..).map(|reply| {
            release.extend(reply.release);
            reply.frame
        });
        writer::write_frames(ws, frames, timeout, &self.session.counters).await?;
        for gate in release {
            let _ = gate.send(());
        }
        Ok(())
    }

    /// Pings a quiet peer; ends the connection when it stays silent too long.
    async fn keep_alive<W>(&self, ws: &mut W) -> Option<End>
    where
        W: Sink<WsMessage, Error = WsError> + Unpin,
    {
        let silent = self.last_heard.elapsed();
        ending::keep_alive(ws, &self.session.config, silent)
            .await
            .map(End::Closed)
    }

    async fn on_error<W>(&self, ws: &mut W, err: WsError) -> End
    where
        W: Sink<WsMessage, Error = WsError> + Unpin,
    {
        End::Closed(ending::on_read_error(ws, err, self.session.config.write_timeout).await)
    }

    fn on_frame(&mut self, frame: &str) {
        let mut consumed_own = false;
        let message = match Message::parse(frame) {
            Message::Single(incoming) => match take_own(&self.session, incoming) {
                Some(incoming) => Message::Single(incoming),
                None => return,
            },
            Message::Batch(items) => {
                let total = items.len();
                telemetry::batch_received(total);
                let rest: Vec<_> = items
                    .into_iter()
                    .filter_map(|item| take_own(&self.session, item))
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
                    self.answer(encode::response_err(&Id::Null, &error));
                    return;
                }
                Message::Batch(rest)
            }
        };
        let weight = weight_of(&message, self.session.config.max_in_flight);
        if self.parked.is_empty() {
            if let Ok(permit) = self.permits.clone().try_acquire_many_owned(weight) {
                return self.dispatch(message, Some(permit));
            }
        }
        if consumed_own {
            // Its own answers are routed already, so it cannot wait as text:
            // it runs past the bound (a peer mixing answers and calls in one
            // batch is rare, and the frame itself is size-limited).
            return self.dispatch(message, None);
        }
        self.parked.push_back((frame.to_owned(), weight));
    }

    /// Runs a parked frame (it held only calls, so nothing is routed twice).
    fn run_parked(&mut self, frame: &str, permit: OwnedSemaphorePermit) {
        let message = Message::parse(frame);
        self.dispatch(message, Some(permit));
    }

    fn dispatch(&mut self, message: Message<'_>, permit: Option<OwnedSemaphorePermit>) {
        let mut started = prepare_message(&self.router, message, &self.ctx);
        // Most handlers finish without waiting: answer those here and save a task.
        if let Poll::Ready(reply) = started.poll_now() {
            drop(permit);
            self.outbox.extend(reply);
            return;
        }
        let session = self.session.clone();
        self.tasks.spawn(async move {
            let reply = started.finish().await;
            send_reply(&session, reply).await;
            drop(permit);
        });
    }
}

/// Resolves with [`Event::Drain`] when `drain` is cancelled (never without
/// one), or with [`Event::Ended`] when the session ends; a stop first.
async fn stop_asked(drain: Option<CancellationToken>, session: CancellationToken) -> Event {
    let drained = async {
        match drain {
            Some(drain) => drain.cancelled_owned().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        () = drained => Event::Drain,
        () = session.cancelled_owned() => Event::Ended,
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
