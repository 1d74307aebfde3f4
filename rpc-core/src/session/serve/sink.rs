//! The server side of a subscription: a typed sink over a bounded buffer, and
//! the task that forwards the buffer to the connection's outbound queue.
//! While the buffer is empty and the queue has room, an item skips both and
//! goes straight to the queue: one hand-off instead of two.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::byte_budget::ByteBudget;
use super::sink_config::{OverflowPolicy, SinkConfig};
use super::sink_error::SendError;
use crate::protocol::envelope::{self, ItemFrames};
use crate::protocol::{ErrorCode, ErrorObject, Position, Resume};
use crate::session::{Outbound, OutboundSender, TrySendError};
use crate::telemetry::{self, ConnectionCounters};

/// Sends items of type `T` to one subscriber.
///
/// Each item is serialized once, straight into its notification frame, and
/// buffered (bounded by [`SinkConfig::buffer`]) until the connection can take
/// it. Dropping the sink ends the subscription: buffered items still go out,
/// then a notice that it ended.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use wirecall::SubscriptionSink;
///
/// /// Sends the time every second until the subscriber goes away.
/// async fn clock(sink: SubscriptionSink<u64>) {
///     let mut ticks = tokio::time::interval(Duration::from_secs(1));
///     loop {
///         tokio::select! {
///             _ = ticks.tick() => {
///                 let now = std::time::SystemTime::now()
///                     .duration_since(std::time::UNIX_EPOCH)
///                     .map_or(0, |since| since.as_secs());
///                 if sink.send(&now).await.is_err() {
///                     return;
///                 }
///             }
///             () = sink.closed() => return,
///         }
///     }
/// }
/// ```
#[derive(Debug)]
pub struct SubscriptionSink<T> {
    shared: Arc<SinkShared>,
    item: PhantomData<fn(&T)>,
}

impl<T: Serialize> SubscriptionSink<T> {
    pub(crate) fn from_shared(shared: Arc<SinkShared>) -> SubscriptionSink<T> {
        SubscriptionSink {
            shared,
            item: PhantomData,
        }
    }

    /// Queues one item. Under [`OverflowPolicy::Wait`] this waits for room;
    /// under the other policies it never waits.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once the subscription has ended, or
    /// [`SendError::Serialize`].
    pub async fn send(&self, item: &T) -> Result<(), SendError> {
        let frame = self
            .shared
            .frames
            .serialize(item)
            .map_err(SendError::Serialize)?;
        self.shared.push(frame).await
    }

    /// Queues one item that is already JSON (for example serialized once for
    /// many subscribers).
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once the subscription has ended.
    pub async fn send_raw(&self, item: &RawValue) -> Result<(), SendError> {
        let frame = self.shared.item_frame(item);
        self.shared.push(frame).await
    }

    /// Queues one item that is already JSON, with its position in its
    /// topic (sent as an extra `"position"` member, so a client can resume
    /// after it).
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once the subscription has ended.
    pub async fn send_raw_at(&self, item: &RawValue, position: &Position) -> Result<(), SendError> {
        let frame = self.shared.frames.item_at(item, position);
        self.shared.push(frame).await
    }

    /// Tells the client how a resumed subscription picks up; it arrives in
    /// order with the items (first, when sent before any).
    pub fn report_resumed(&self, resume: Resume) {
        self.shared.resumed(resume);
    }

    /// The subscription id as JSON text (a string literal).
    pub fn id(&self) -> &str {
        self.shared.id.get()
    }

    /// Whether the subscription has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.token.is_cancelled()
    }

    /// Resolves once the subscription has ended (unsubscribed, closed, or
    /// the connection is gone).
    pub async fn closed(&self) {
        self.shared.token.cancelled().await;
    }

    /// Items buffered and not yet handed to the connection.
    pub fn buffered(&self) -> usize {
        self.shared.buffered()
    }

    /// Tells the client that `missed` items were lost upstream (for example a
    /// bus this sink is fed from overflowed); it arrives as a lag notice in
    /// order with the items.
    pub fn report_lagged(&self, missed: u64) {
        self.shared.add_lagged(missed);
    }

    /// Ends the subscription with `error`, sent to the client after the
    /// buffered items.
    pub fn close_with(self, error: impl Into<ErrorObject>) {
        self.shared.end(error.into());
    }
}

impl<T> Drop for SubscriptionSink<T> {
    fn drop(&mut self) {
        self.shared.end(ErrorObject::new(
            ErrorCode::SUBSCRIPTION_ENDED,
            "subscription ended",
        ));
    }
}

/// The state a sink shares with its forwarder task and the connection.
#[derive(Debug)]
pub(crate) struct SinkShared {
    pub(crate) id: Box<RawValue>,
    pub(crate) notification: Arc<str>,
    frames: ItemFrames,
    /// The connection's queue, for items that need no buffering.
    pub(super) outbound: OutboundSender,
    counters: ConnectionCounters,
    /// The bytes all of the connection's sinks may buffer together.
    budget: Arc<ByteBudget>,
    config: SinkConfig,
    pub(super) state: Mutex<SinkState>,
    pub(super) item_ready: Notify,
    pub(super) room_ready: Notify,
    pub(crate) token: CancellationToken,
}

impl SinkShared {
    /// A sink for subscription `id` that queues on `outbound`, not yet
    /// registered.
    pub(super) fn new(
        id: Box<RawValue>,
        notification: Arc<str>,
        config: SinkConfig,
        (outbound, counters, budget): (OutboundSender, ConnectionCounters, Arc<ByteBudget>),
        token: CancellationToken,
        resuming: bool,
    ) -> SinkShared {
        SinkShared {
            frames: ItemFrames::new(&notification, &id),
            outbound,
            counters,
            budget,
            id,
            notification,
            config,
            state: Mutex::new(SinkState {
                resume_untold: resuming,
                ..SinkState::default()
            }),
            item_ready: Notify::new(),
            room_ready: Notify::new(),
            token,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct SinkState {
    pub(super) items: VecDeque<String>,
    /// The bytes of `items`, counted in the connection's budget too.
    bytes: usize,
    pub(super) lagged: u64,
    /// Set once the producer is done: the error notice to send after the items.
    pub(super) ending: Option<ErrorObject>,
    /// Set when nothing more may be sent at all (unsubscribed, connection gone).
    pub(super) silenced: bool,
    /// A resuming subscription whose handler has not said how it picks up:
    /// the first thing sent says `Reset`, so the client is never left to
    /// assume nothing was missed.
    pub(super) resume_untold: bool,
    pub(super) forwarder: Forwarder,
}

/// What became of a frame offered without waiting.
#[derive(Debug)]
pub(crate) enum Offer {
    /// Queued on the connection or in the buffer.
    Taken,
    /// The buffer is full and the policy is to wait: the frame, back.
    Full(String),
    /// The subscription has ended.
    Closed,
}

/// Where the forwarder task stands, for items that would skip it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) enum Forwarder {
    /// The subscribe reply is not queued yet: nothing may go out.
    #[default]
    Unreleased,
    /// Waiting for items.
    Idle,
    /// Holding a frame it took from `items` and has not queued yet; an item
    /// queued directly now would overtake it.
    Busy,
}

impl SinkState {
    /// Nothing is waiting to go out before a new item: it may be queued on
    /// the connection directly.
    fn nothing_ahead(&self) -> bool {
        self.forwarder == Forwarder::Idle
            && self.items.is_empty()
            && self.lagged == 0
            && !self.resume_untold
    }
}

impl SinkShared {
    fn item_frame(&self, item: &RawValue) -> String {
        self.frames.item(item)
    }

    /// Appends `frame` to the buffer, counting its bytes.
    fn buffer(&self, state: &mut SinkState, frame: String) {
        state.bytes += frame.len();
        self.budget.take(frame.len());
        state.items.push_back(frame);
    }

    pub(super) fn unbuffer_front(&self, state: &mut SinkState) -> Option<String> {
        let frame = state.items.pop_front()?;
        state.bytes -= frame.len();
        self.budget.give_back(frame.len());
        Some(frame)
    }

    fn unbuffer_all(&self, state: &mut SinkState) {
        state.items.clear();
        self.budget.give_back(std::mem::take(&mut state.bytes));
    }

    pub(super) fn lagged_frame(&self, missed: u64) -> String {
        envelope::lagged(&self.notification, &self.id, missed)
    }

    async fn push(&self, mut frame: String) -> Result<(), SendError> {
        loop {
            let room = self.room_ready.notified();
            match self.offer(frame) {
                Offer::Taken => return Ok(()),
                Offer::Closed => return Err(SendError::Closed),
                Offer::Full(back) => frame = back,
            }
            tokio::select! {
                () = room => {}
                () = self.token.cancelled() => return Err(SendError::Closed),
            }
        }
    }

    /// Builds the frame of `item` at `position` and offers it without
    /// waiting: what a bus does as it publishes.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn offer_at(&self, item: &RawValue, position: &Position) -> Offer {
        self.offer(self.frames.item_at(item, position))
    }

    /// Queues `frame` if that needs no waiting: straight on the connection
    /// when nothing is ahead of it, else in the buffer, else as the
    /// overflow policy says. Under [`OverflowPolicy::Wait`] a full buffer
    /// hands the frame back.
    fn offer(&self, frame: String) -> Offer {
        let mut state = self.state.lock().expect("sink lock");
        if state.silenced || state.ending.is_some() {
            return Offer::Closed;
        }
        let frame = if state.nothing_ahead() {
            // Queued under the lock, so the forwarder cannot take a frame
            // meanwhile and be overtaken.
            match self.outbound.try_send(Outbound::Text(frame)) {
                Ok(()) => {
                    self.counters.item_sent();
                    return Offer::Taken;
                }
                Err(TrySendError::Full(Outbound::Text(back))) => back,
                Err(TrySendError::Closed) => return Offer::Closed,
                Err(TrySendError::Full(Outbound::Close(_))) => {
                    unreachable!("a text frame was sent")
                }
            }
        } else {
            frame
        };
        // Past the connection's byte budget, a sink that holds an item is
        // full; one that holds none may still take one.
        let full = state.items.len() >= self.config.buffer.max(1)
            || (!state.items.is_empty() && self.budget.is_spent());
        if !full {
            self.buffer(&mut state, frame);
            drop(state);
            self.counters.item_sent();
            self.item_ready.notify_one();
            return Offer::Taken;
        }
        match self.config.policy {
            OverflowPolicy::DropOldest => {
                self.unbuffer_front(&mut state);
                state.lagged += 1;
                self.buffer(&mut state, frame);
                drop(state);
                self.counters.item_sent();
                telemetry::items_dropped("drop_oldest", 1);
                Offer::Taken
            }
            OverflowPolicy::Close => {
                telemetry::items_dropped("close", state.items.len() as u64 + 1);
                self.unbuffer_all(&mut state);
                state.ending = Some(ErrorObject::new(
                    ErrorCode::SLOW_SUBSCRIBER,
                    "subscription closed: the client reads too slowly",
                ));
                drop(state);
                self.item_ready.notify_one();
                Offer::Closed
            }
            OverflowPolicy::Wait => Offer::Full(frame),
        }
    }

    /// Queues the notice saying how a resumed subscription picks up.
    pub(crate) fn resumed(&self, resume: Resume) {
        let notice = envelope::resumed(&self.notification, &self.id, resume);
        self.push_notice(notice);
    }

    /// Queues a notice in order with the items, past the buffer bound (one
    /// per resume, so it cannot grow the buffer without end).
    fn push_notice(&self, notice: String) {
        let mut state = self.state.lock().expect("sink lock");
        if state.silenced || state.ending.is_some() {
            return;
        }
        state.resume_untold = false;
        self.buffer(&mut state, notice);
        drop(state);
        self.item_ready.notify_one();
    }

    pub(crate) fn add_lagged(&self, missed: u64) {
        let mut state = self.state.lock().expect("sink lock");
        // Items already buffered were published before the loss: flush them first.
        if state.items.is_empty() {
            state.lagged += missed;
        } else {
            let notice = self.lagged_frame(missed);
            self.buffer(&mut state, notice);
        }
        drop(state);
        self.item_ready.notify_one();
    }

    pub(crate) fn buffered(&self) -> usize {
        self.state.lock().expect("sink lock").items.len()
    }

    /// The producer is done: send what is buffered, then `error` as a notice.
    pub(crate) fn end(&self, error: ErrorObject) {
        let mut state = self.state.lock().expect("sink lock");
        if state.ending.is_none() {
            state.ending = Some(error);
        }
        drop(state);
        self.item_ready.notify_one();
    }

    /// Stops at once without a notice (unsubscribed or connection gone).
    pub(crate) fn finish_quietly(&self) {
        let mut state = self.state.lock().expect("sink lock");
        state.silenced = true;
        self.unbuffer_all(&mut state);
        drop(state);
        self.token.cancel();
        self.item_ready.notify_one();
        self.room_ready.notify_waiters();
    }
}

impl Drop for SinkShared {
    fn drop(&mut self) {
        let bytes = self.state.get_mut().map_or(0, |state| state.bytes);
        self.budget.give_back(bytes);
    }
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
