//! The public handle to a live connection: call, notify, batch and subscribe
//! to whatever the other end serves.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use super::outgoing::{OutgoingCall, OutgoingLayers, OutgoingNext};
use super::stream::Subscription;
use crate::protocol::{encode, Position};
use crate::session::call::{to_params, Batch, BatchResponse};
use crate::session::link::{DurableLink, Link};
use crate::session::{CallError, Closed, ConnectionState, Session};

/// A handle to one live connection; clone it freely and use it from many
/// tasks at once.
///
/// Both ends have one: the client wraps it, and a server handler reaches the
/// client through `Context::peer`. A reconnecting client's peer reaches
/// whichever connection is live: calls wait while it reconnects, and its
/// subscriptions carry on over the new connection.
#[derive(Debug, Clone)]
pub struct Peer {
    link: Link,
}

impl Peer {
    pub(crate) fn fixed(session: Arc<Session>) -> Peer {
        Peer {
            link: Link::Fixed(session),
        }
    }

    pub(crate) fn durable(link: Arc<DurableLink>) -> Peer {
        Peer {
            link: Link::Durable(link),
        }
    }

    /// The one session of a fixed peer.
    pub(crate) fn fixed_session(&self) -> Option<&Arc<Session>> {
        self.link.fixed_session()
    }

    /// Calls `method` and decodes the answer as `T`.
    ///
    /// `params` is anything serializable: a tuple, array or `Vec` goes by
    /// position, a struct or map by name, `()` sends no params, and any other
    /// single value is sent as a one-element array.
    ///
    /// # Errors
    ///
    /// [`CallError`]: the peer's error object, a closed or dropped
    /// connection, a timeout, or an encode/decode failure.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, CallError> {
        let params = to_params(&params)?;
        let answer = self.call_with(method, params.as_deref(), false).await?;
        serde_json::from_str(answer.get()).map_err(CallError::Decode)
    }

    /// As [`Peer::call`], for a method that is safe to run twice: when a
    /// reconnecting client loses the connection while the call is in
    /// flight, it sends the call again on the next connection (within the
    /// one call timeout) instead of failing with
    /// [`CallError::Disconnected`].
    ///
    /// # Errors
    ///
    /// As [`Peer::call`].
    pub async fn call_idempotent<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, CallError> {
        let params = to_params(&params)?;
        let answer = self.call_with(method, params.as_deref(), true).await?;
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
        self.call_with(method, params, false).await
    }

    async fn call_with(
        &self,
        method: &str,
        params: Option<&RawValue>,
        idempotent: bool,
    ) -> Result<Box<RawValue>, CallError> {
        let layers = &self.link.config().outgoing;
        if !layers.is_empty() {
            let call = OutgoingCall {
                method: method.into(),
                params: params.map(ToOwned::to_owned),
                notification: false,
                idempotent,
            };
            let answer = self.outgoing_next(layers).run(call).await?;
            // A layer that answered a call without a result answered `null`.
            return Ok(answer.unwrap_or_else(|| {
                RawValue::from_string("null".to_owned()).expect("null is JSON")
            }));
        }
        self.call_unlayered(method, params, idempotent).await
    }

    async fn call_unlayered(
        &self,
        method: &str,
        params: Option<&RawValue>,
        idempotent: bool,
    ) -> Result<Box<RawValue>, CallError> {
        self.link.call(method, params, idempotent).await
    }

    /// Sends a notification: no answer is expected or possible.
    ///
    /// # Errors
    ///
    /// [`CallError::Closed`] or [`CallError::Encode`]; a reconnecting
    /// client waits for the connection first (up to the call timeout).
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), CallError> {
        let params = to_params(&params)?;
        let layers = &self.link.config().outgoing;
        if !layers.is_empty() {
            let call = OutgoingCall {
                method: method.into(),
                params,
                notification: true,
                idempotent: false,
            };
            self.outgoing_next(layers).run(call).await?;
            return Ok(());
        }
        self.notify_unlayered(method, params.as_deref()).await
    }

    /// The outgoing layers, ending in this peer's unlayered send.
    fn outgoing_next(&self, layers: &OutgoingLayers) -> OutgoingNext {
        let peer = self.clone();
        OutgoingNext::new(layers, move |call| {
            Box::pin(async move { peer.send_unlayered(&call).await })
        })
    }

    /// Sends what the outgoing layers let through.
    pub(crate) async fn send_unlayered(
        &self,
        call: &OutgoingCall,
    ) -> Result<Option<Box<RawValue>>, CallError> {
        let params = call.params.as_deref();
        if call.notification {
            self.notify_unlayered(&call.method, params).await?;
            return Ok(None);
        }
        self.call_unlayered(&call.method, params, call.idempotent)
            .await
            .map(Some)
    }

    async fn notify_unlayered(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<(), CallError> {
        let frame = encode::notification(method, params);
        self.link.send_frame(frame).await
    }

    /// Sends every entry of `batch` in one frame and waits for all answers.
    ///
    /// # Errors
    ///
    /// Only errors of the whole batch (closed connection, timeout); each
    /// call's own outcome is in the returned [`BatchResponse`].
    pub async fn batch(&self, batch: Batch) -> Result<BatchResponse, CallError> {
        self.link.batch(&batch).await
    }

    /// Subscribes: calls `method`, and turns the notifications the peer then
    /// pushes for the returned id into a [`Subscription`] stream.
    /// `unsubscribe` names the method that ends it.
    ///
    /// On a reconnecting client the subscription outlives each connection:
    /// it is made again on the next one, resuming after its last item when
    /// items carry positions, and the stream says how it picked up.
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
        let (queue, held) = self
            .link
            .subscribe(method, params, unsubscribe, None)
            .await?;
        Ok(Subscription::new(queue, held))
    }

    /// Subscribes again after `since`, the [`Subscription::position`] of a
    /// subscription that was cut off (for example with its connection): the
    /// serving end replays what its history holds after that position, then
    /// carries on live. The stream starts with [`Resumed`], [`Gap(n)`] or
    /// [`Restarted`], saying how that went. (A reconnecting client does this
    /// by itself for the subscriptions it holds.)
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
        let params = to_params(&params)?;
        let (queue, held) = self
            .link
            .subscribe(method, params, unsubscribe, Some(since))
            .await?;
        Ok(Subscription::new(queue, held))
    }

    /// Closes the connection with code 1000 after the frames already queued,
    /// and waits until it has ended. A reconnecting client stops
    /// reconnecting.
    pub async fn close(&self) {
        self.link.close().await;
    }

    /// Waits until the connection has ended and says why; for a
    /// reconnecting client, until it has stopped reconnecting.
    pub async fn closed(&self) -> Closed {
        self.link.closed().await
    }

    /// Starts closing (code 1000) without waiting; used when the last handle
    /// to a client goes away.
    pub fn close_in_background(&self) {
        self.link.close_in_background();
    }

    /// Whether the connection has ended (for a reconnecting client: for good).
    pub fn is_closed(&self) -> bool {
        self.link.is_closed()
    }

    /// Where the connection stands: connected, reconnecting, or closed.
    pub fn connection_state(&self) -> ConnectionState {
        self.link.connection_state()
    }

    /// Frames queued for the I/O task right now (bounded by
    /// [`ConnectionConfig::outbound_capacity`](crate::session::ConnectionConfig::outbound_capacity)).
    pub fn queued_frames(&self) -> usize {
        self.link.current().map_or(0, |session| session.queued())
    }

    /// Subscriptions this end serves on the connection right now.
    pub fn served_subscriptions(&self) -> usize {
        self.link
            .current()
            .map_or(0, |session| session.subscriptions().len())
    }

    /// The most items any one served subscription has buffered right now
    /// (bounded by its [`SinkConfig::buffer`](crate::session::SinkConfig::buffer)).
    pub fn max_subscription_backlog(&self) -> usize {
        self.link
            .current()
            .map_or(0, |session| session.subscriptions().max_buffered())
    }

    /// Bytes the subscriptions this end serves hold buffered on the
    /// connection right now, all together (bounded, loosely, by
    /// [`ConnectionConfig::subscription_bytes`](crate::session::ConnectionConfig::subscription_bytes)).
    pub fn buffered_subscription_bytes(&self) -> usize {
        self.link
            .current()
            .map_or(0, |session| session.buffered_bytes.used())
    }

    /// Outgoing calls waiting for an answer right now.
    pub fn pending_calls(&self) -> usize {
        self.link
            .current()
            .map_or(0, |session| session.pending_calls())
    }
}
