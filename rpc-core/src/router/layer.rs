//! Per-call middleware: layers that wrap every call, notification and
//! subscribe a router dispatches.
//!
//! A small trait of our own rather than tower's `Service`: a call is started
//! while its params are still borrowed from the frame (so a layer can read
//! them without a copy), and tower's `poll_ready` and `&mut self` would add a
//! readiness step and a lock to every call for nothing here. A layer is a
//! shared `&self` that starts the rest of the stack and wraps what comes back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::value::RawValue;

use super::Context;
use crate::protocol::{ErrorObject, Id};
use crate::session::serve::Accepted;

/// What kind of incoming value a [`Call`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallKind {
    /// A call that is answered.
    Method,
    /// A call that must not be answered.
    Notification,
    /// A call that starts a subscription (a resuming one included).
    Subscribe,
    /// A call that ends a subscription.
    Unsubscribe,
}

impl CallKind {
    /// `"call"`, `"notification"`, `"subscribe"` or `"unsubscribe"`: a
    /// label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Method => "call",
            CallKind::Notification => "notification",
            CallKind::Subscribe => "subscribe",
            CallKind::Unsubscribe => "unsubscribe",
        }
    }
}

/// One incoming call as a layer sees it: its kind, method, id and raw params,
/// and the connection's [`Context`].
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub(crate) kind: CallKind,
    pub(crate) method: &'a str,
    pub(crate) id: Option<&'a Id>,
    pub(crate) params: Option<&'a RawValue>,
    pub(crate) ctx: &'a Context,
    /// Whether the router has a method of this name.
    pub(crate) known: bool,
    /// A subscribe call resuming after a position (`rpc.resume`).
    pub(crate) resuming: bool,
}

impl<'a> Call<'a> {
    /// Method, notification or subscribe.
    pub fn kind(&self) -> CallKind {
        self.kind
    }

    /// The method name as the peer sent it.
    pub fn method(&self) -> &'a str {
        self.method
    }

    /// Whether the router serves this method: a layer that labels by method
    /// can put every unknown name under one label.
    pub fn is_known(&self) -> bool {
        self.known
    }

    /// Whether this subscribe call resumes an earlier subscription after
    /// its last position (sent as `rpc.resume`, shown here as the
    /// subscribe call it resumes: its method and params).
    pub fn is_resuming(&self) -> bool {
        self.resuming
    }

    /// The request id; `None` for a notification.
    pub fn id(&self) -> Option<&'a Id> {
        self.id
    }

    /// The params, still raw JSON, if any.
    pub fn params(&self) -> Option<&'a RawValue> {
        self.params
    }

    /// The connection the call came over.
    pub fn context(&self) -> &'a Context {
        self.ctx
    }
}

/// What a call came to: `Ok` when it succeeded (a result, an accepted
/// subscription, a notification that ran), or the error object it is
/// answered with.
pub type Outcome = Result<Done, ErrorObject>;

/// A call that succeeded; opaque, it carries the answer to the engine.
#[derive(Debug)]
pub struct Done(pub(crate) Answer);

#[derive(Debug)]
pub(crate) enum Answer {
    /// The whole reply frame of a call (empty for a notification).
    Reply(String),
    /// A subscription the handler accepted.
    Accepted(Accepted),
}

/// A started call, as a layer hands it back: it resolves to the outcome.
pub type Running = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// Per-call middleware.
///
/// A router runs its layers in the order they were added: the first added
/// sees a call first and its outcome last. `handle` runs as soon as the call
/// is read, before the handler starts; it may answer at once (return
/// [`Next::answer`] with an error object, and the handler never runs), or
/// start the rest of the stack with [`Next::run`] and wrap the future that
/// comes back (to time it, bound it, or run it inside a span). A router
/// with no layers does none of this: no box, no allocation per call.
///
/// # Examples
///
/// A layer that refuses calls to methods whose name starts with `admin_`
/// unless the handshake attached an `Admin` marker:
///
/// ```
/// use wirecall::middleware::{Call, Layer, Next, Running};
/// use wirecall::{ErrorObject, Router};
///
/// struct Admin;
/// struct AdminOnly;
///
/// impl Layer for AdminOnly {
///     fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running {
///         if call.method().starts_with("admin_") && call.context().get::<Admin>().is_none() {
///             return Next::answer(ErrorObject::new(4003, "admins only"));
///         }
///         next.run()
///     }
/// }
///
/// let mut router = Router::new();
/// router.layer(AdminOnly);
/// ```
pub trait Layer: Send + Sync + 'static {
    /// Handles one call: answer it, or run the rest of the stack and wrap it.
    fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running;
}

/// The rest of the stack below a layer: the layers after it, then the handler.
pub struct Next<'a> {
    pub(crate) rest: &'a [Arc<dyn Layer>],
    pub(crate) call: &'a Call<'a>,
    pub(crate) handler: &'a dyn Fn() -> Running,
}

impl Next<'_> {
    /// Starts the rest of the stack for this call.
    pub fn run(self) -> Running {
        match self.rest.split_first() {
            Some((layer, rest)) => layer.handle(
                self.call,
                Next {
                    rest,
                    call: self.call,
                    handler: self.handler,
                },
            ),
            None => (self.handler)(),
        }
    }

    /// A call answered with `error` without running anything below.
    pub fn answer(error: ErrorObject) -> Running {
        Box::pin(std::future::ready(Err(error)))
    }
}

impl std::fmt::Debug for Next<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next")
            .field("layers_left", &self.rest.len())
            .finish_non_exhaustive()
    }
}
