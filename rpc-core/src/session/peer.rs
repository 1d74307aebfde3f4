//! The public handle to a live connection: call, notify, batch and subscribe
//! to whatever the other end serves.

use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::pending::{Forget, Waiter};
use super::state::{Outbound, Session};
use super::{CallError, Closed, Subscription};
use crate::protocol::{encode, envelope, Id, Position};

/// A handle to one live connection; clone it freely and use it from many
/// tasks at once.
///
/// Both ends have one: the client wraps it, and a server handler reaches the
/// client through `Context::peer`.
#[derive(Debug, Clone)]
pub struct Peer {
    pub(crate) session: Arc<Session>,
}

impl Peer {
    /// Calls `method` and decodes the answer as `T`.
    ///
    /// `params` is anything serializable: a tuple, array or `Vec` goes by
    /// position, a struct or map by name, `()` sends no params, and any other
    /// single value is sent as a one-element array.
    ///
    /// # Errors
    ///
    /// [`CallError`]: the peer's error object, a closed connection, a
    /// timeout, or an encode/decode failure.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, CallError> {
        let params = to_params(&params)?;
        let answer = self.session.call(method, params.as_deref()).await?;
        serde_json::from_str(answer.get()).map_err(CallError::Decode)
    }

    /// Calls `method` with params that are already JSON and returns the raw answer.
    ///
    /// # Errors
    ///
    /// As [`Peer::call`].
    pub async fn call_raw(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Box<RawValue>, CallError> {
        self.session.call(method, params).await
    }

    /// Sends a notification: no answer is expected or possible.
    ///
    /// # Errors
    ///
    /// [`CallError::Closed`] or [`CallError::Encode`].
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), CallError> {
        let params = to_params(&params)?;
        let frame = encode::notification(method, params.as_deref());
        self.session
            .send_frame(frame)
            .await
            .map_err(CallError::Closed)
    }

    /// Sends every entry of `batch` in one frame and waits for all answers.
    ///
    /// # Errors
    ///
    /// Only errors of the whole batch (closed connection, timeout); each
    /// call's own outcome is in the returned [`BatchResponse`].
    pub async fn batch(&self, batch: Batch) -> Result<BatchResponse, CallError> {
        let mut waiters = Vec::with_capacity(batch.entries.len());
        let mut frames = Vec::with_capacity(batch.entries.len());
        let mut ids = Vec::new();
        for entry in batch.entries {
            if entry.is_call {
                let (reply, answer) = oneshot::channel();
                let id = self.session.register(Waiter::Call(reply))?;
                ids.push(id);
                frames.push(encode::request(
                    &Id::from(id),
                    &entry.method,
                    entry.params.as_deref(),
                ));
                waiters.push((id, answer));
            } else {
                frames.push(encode::notification(&entry.method, entry.params.as_deref()));
            }
        }
        if let Err(closed) = self.session.send_frame(encode::batch(frames)).await {
            for id in ids {
                self.session.pending.remove(id);
            }
            return Err(CallError::Closed(closed));
        }
        let _forget: Vec<_> = waiters
            .iter()
            .map(|(id, _)| Forget {
                pending: &self.session.pending,
                id: *id,
            })
            .collect();
        let deadline = self.session.deadline();
        let mut outcomes = Vec::with_capacity(waiters.len());
        for (_, answer) in waiters {
            outcomes.push(match self.session.await_answer(answer, deadline).await {
                Ok(reply) => reply,
                Err(err) => Err(err),
            });
        }
        Ok(BatchResponse { outcomes })
    }

    /// Subscribes: calls `method`, and turns the notifications the peer then
    /// pushes for the returned id into a [`Subscription`] stream.
    /// `unsubscribe` names the method that ends it.
    ///
    /// # Errors
    ///
    /// As [`Peer::call`]; a non-string, non-number id is a decode error.
    pub async fn subscribe<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
        unsubscribe: &str,
    ) -> Result<Subscription<T>, CallError> {
        let params = to_params(&params)?;
        self.open_subscription(method, params.as_deref(), unsubscribe)
            .await
    }

    /// Subscribes again after `since`, the [`Subscription::position`] of a
    /// subscription that was cut off (for example with its connection): the
    /// serving end replays what its history holds after that position, then
    /// carries on live. The stream starts with [`Resumed`], [`Gap(n)`] or
    /// [`Restarted`], saying how that went.
    ///
    /// [`Resumed`]: super::SubscriptionEvent::Resumed
    /// [`Gap(n)`]: super::SubscriptionEvent::Gap
    /// [`Restarted`]: super::SubscriptionEvent::Restarted
    ///
    /// # Errors
    ///
    /// As [`Peer::subscribe`]; -32601 when `method` is not a subscription.
    pub async fn subscribe_from<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
        unsubscribe: &str,
        since: &Position,
    ) -> Result<Subscription<T>, CallError> {
        #[derive(Serialize)]
        struct ResumeParams<'a> {
            method: &'a str,
            params: Option<&'a RawValue>,
            epoch: &'a str,
            offset: u64,
        }
        let params = to_params(&params)?;
        let resume = ResumeParams {
            method,
            params: params.as_deref(),
            epoch: &since.epoch,
            offset: since.offset,
        };
        let resume = serde_json::value::to_raw_value(&resume).map_err(CallError::Encode)?;
        self.open_subscription(envelope::RESUME_METHOD, Some(&resume), unsubscribe)
            .await
    }

    async fn open_subscription<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Option<&RawValue>,
        unsubscribe: &str,
    ) -> Result<Subscription<T>, CallError> {
        let _permit = self.session.acquire_call_permit().await?;
        let (reply, answer) = oneshot::channel();
        let waiter = Waiter::Subscribe {
            reply,
            unsubscribe: unsubscribe.into(),
            buffer: self.session.config.subscription_buffer,
        };
        let id = self.session.register(waiter)?;
        self.session.send_request(id, method, params).await?;
        let (key, queue) = self
            .session
            .await_answer(answer, self.session.deadline())
            .await??;
        Ok(Subscription::new(queue, key, self.session.clone()))
    }

    /// Closes the connection with code 1000 after the frames already queued,
    /// and waits until it has ended.
    pub async fn close(&self) {
        if !self.session.is_closed() {
            let frame = CloseFrame {
                code: CloseCode::Normal,
                reason: "closed by this end".into(),
            };
            self.session.send_close(frame).await;
        }
        self.closed().await;
    }

    /// Waits until the connection has ended and says why.
    pub async fn closed(&self) -> Closed {
        self.session.token().cancelled().await;
        self.session.closed_reason()
    }

    /// Starts closing (code 1000) without waiting; used when the last handle
    /// to a client goes away.
    pub fn close_in_background(&self) {
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "closed by this end".into(),
        };
        if !self.session.try_send(Outbound::Close(Box::new(frame))) {
            self.session
                .shut_down(Closed::new(Some(1000), "closed by this end"));
        }
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.session.is_closed()
    }

    /// Frames queued for the I/O task right now (bounded by
    /// [`ConnectionConfig::outbound_capacity`](super::ConnectionConfig::outbound_capacity)).
    pub fn queued_frames(&self) -> usize {
        self.session.queued()
    }

    /// Subscriptions this end serves on the connection right now.
    pub fn served_subscriptions(&self) -> usize {
        self.session.subscriptions().len()
    }

    /// The most items any one served subscription has buffered right now
    /// (bounded by its [`SinkConfig::buffer`](super::SinkConfig::buffer)).
    pub fn max_subscription_backlog(&self) -> usize {
        self.session.subscriptions().max_buffered()
    }

    /// Outgoing calls waiting for an answer right now.
    pub fn pending_calls(&self) -> usize {
        self.session.pending.len()
    }
}

/// Serializes call params: arrays and objects as they are, `()`/`null` as
/// no params, anything else wrapped in a one-element array.
pub(crate) fn to_params<P: Serialize + ?Sized>(
    params: &P,
) -> Result<Option<Box<RawValue>>, CallError> {
    let raw = serde_json::value::to_raw_value(params).map_err(CallError::Encode)?;
    match raw.get().as_bytes().first() {
        Some(b'[' | b'{') => Ok(Some(raw)),
        Some(b'n') => Ok(None),
        _ => Ok(Some(
            RawValue::from_string(format!("[{}]", raw.get())).expect("valid JSON"),
        )),
    }
}

/// Calls and notifications to send together in one frame.
///
/// # Examples
///
/// ```
/// use wirecall::Batch;
///
/// let mut batch = Batch::new();
/// let sum = batch.call::<i64>("sum", [1, 2, 4]).unwrap();
/// batch.notify("notify_hello", [7]).unwrap();
/// assert_eq!(batch.len(), 2);
/// # let _ = sum;
/// ```
#[derive(Debug, Default)]
pub struct Batch {
    entries: Vec<BatchEntry>,
    calls: usize,
}

#[derive(Debug)]
struct BatchEntry {
    method: String,
    params: Option<Box<RawValue>>,
    is_call: bool,
}

/// Where one call's answer will be in a [`BatchResponse`], typed.
#[derive(Debug)]
pub struct BatchSlot<T> {
    index: usize,
    answer: PhantomData<fn() -> T>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a call; the slot reads its typed answer from the response.
    ///
    /// # Errors
    ///
    /// [`CallError::Encode`] when the params do not serialize.
    pub fn call<T: DeserializeOwned>(
        &mut self,
        method: &str,
        params: impl Serialize,
    ) -> Result<BatchSlot<T>, CallError> {
        let params = to_params(&params)?;
        self.entries.push(BatchEntry {
            method: method.into(),
            params,
            is_call: true,
        });
        self.calls += 1;
        Ok(BatchSlot {
            index: self.calls - 1,
            answer: PhantomData,
        })
    }

    /// Adds a notification.
    ///
    /// # Errors
    ///
    /// [`CallError::Encode`] when the params do not serialize.
    pub fn notify(&mut self, method: &str, params: impl Serialize) -> Result<(), CallError> {
        let params = to_params(&params)?;
        self.entries.push(BatchEntry {
            method: method.into(),
            params,
            is_call: false,
        });
        Ok(())
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The answers to a batch's calls.
#[derive(Debug)]
pub struct BatchResponse {
    outcomes: Vec<Result<Box<RawValue>, CallError>>,
}

impl BatchResponse {
    /// Takes the answer for `slot`, decoded.
    ///
    /// # Errors
    ///
    /// That call's [`CallError`]; taking a slot twice reports a closed error.
    pub fn take<T: DeserializeOwned>(&mut self, slot: &BatchSlot<T>) -> Result<T, CallError> {
        let outcome = std::mem::replace(
            &mut self.outcomes[slot.index],
            Err(CallError::Closed(Closed::new(
                None,
                "batch answer already taken",
            ))),
        );
        serde_json::from_str(outcome?.get()).map_err(CallError::Decode)
    }
}
