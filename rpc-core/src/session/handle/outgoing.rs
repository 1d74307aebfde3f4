//! Layers around the calls and notifications this end sends through a
//! [`Peer`](super::Peer): the outgoing counterpart of the router's layers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::session::CallError;

/// One call or notification this end is about to send, as an
/// [`OutgoingLayer`] sees it.
#[derive(Debug)]
pub struct OutgoingCall {
    pub(crate) method: Arc<str>,
    pub(crate) params: Option<Box<RawValue>>,
    pub(crate) notification: bool,
    pub(crate) idempotent: bool,
}

impl OutgoingCall {
    /// The method to call.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The params, as the JSON that will be sent.
    pub fn params(&self) -> Option<&RawValue> {
        self.params.as_deref()
    }

    /// Whether no answer is expected.
    pub fn is_notification(&self) -> bool {
        self.notification
    }
}

/// A sent call, as a layer hands it back: the peer's result (`None` for a
/// notification), or why there is none.
pub type OutgoingRunning =
    Pin<Box<dyn Future<Output = Result<Option<Box<RawValue>>, CallError>> + Send + 'static>>;

/// Middleware around outgoing calls and notifications (not subscribe calls
/// or batches), set per connection in
/// [`ConnectionConfig::outgoing`](crate::session::ConnectionConfig::outgoing).
/// Layers run in the order they were
/// added: the first sees a call first and its outcome last.
///
/// # Examples
///
/// A layer that refuses to call `debug_*` methods from this end:
///
/// ```
/// use wirecall::{CallError, ConnectionConfig, ErrorObject};
/// use wirecall::middleware::{OutgoingCall, OutgoingLayer, OutgoingNext, OutgoingRunning};
///
/// struct NoDebug;
///
/// impl OutgoingLayer for NoDebug {
///     fn handle(&self, call: OutgoingCall, next: OutgoingNext) -> OutgoingRunning {
///         if call.method().starts_with("debug_") {
///             let refused = ErrorObject::new(4000, "debug calls are off");
///             return Box::pin(async move { Err(CallError::Rpc(refused)) });
///         }
///         next.run(call)
///     }
/// }
///
/// let mut config = ConnectionConfig::default();
/// config.outgoing.push(NoDebug);
/// ```
pub trait OutgoingLayer: Send + Sync + 'static {
    /// Handles one outgoing call: answer it here, or send it on with
    /// [`OutgoingNext::run`] and wrap what comes back.
    fn handle(&self, call: OutgoingCall, next: OutgoingNext) -> OutgoingRunning;
}

/// The outgoing layers of a connection, outermost first.
#[derive(Clone, Default)]
pub struct OutgoingLayers {
    layers: Arc<Vec<Arc<dyn OutgoingLayer>>>,
}

impl OutgoingLayers {
    /// Adds `layer` inside those already added.
    pub fn push(&mut self, layer: impl OutgoingLayer) {
        Arc::make_mut(&mut self.layers).push(Arc::new(layer));
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
}

impl fmt::Debug for OutgoingLayers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingLayers")
            .field("len", &self.layers.len())
            .finish()
    }
}

/// The rest of the stack below an outgoing layer: the layers after it,
/// then the connection.
pub struct OutgoingNext {
    layers: Arc<Vec<Arc<dyn OutgoingLayer>>>,
    index: usize,
    /// Sends on the connection, past the last layer.
    send: Box<dyn FnOnce(OutgoingCall) -> OutgoingRunning + Send>,
}

impl OutgoingNext {
    pub(crate) fn new(
        layers: &OutgoingLayers,
        send: impl FnOnce(OutgoingCall) -> OutgoingRunning + Send + 'static,
    ) -> OutgoingNext {
        OutgoingNext {
            layers: layers.layers.clone(),
            index: 0,
            send: Box::new(send),
        }
    }

    /// Sends `call` on through the rest of the stack.
    pub fn run(self, call: OutgoingCall) -> OutgoingRunning {
        match self.layers.get(self.index).cloned() {
            Some(layer) => layer.handle(
                call,
                OutgoingNext {
                    index: self.index + 1,
                    ..self
                },
            ),
            None => (self.send)(call),
        }
    }
}

impl fmt::Debug for OutgoingNext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingNext")
            .field("layers_left", &(self.layers.len() - self.index))
            .finish_non_exhaustive()
    }
}
