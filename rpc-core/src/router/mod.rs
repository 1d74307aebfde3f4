//! Method names mapped to async handlers, and the dispatch of classified
//! messages to them.

mod context;
mod discover;
mod dispatch;
mod frame;
mod layer;
mod params;
mod subscribe;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

pub use context::{Context, Extensions};
pub use layer::{Call, CallKind, Done, Layer, Next, Outcome, Running};
pub use params::{Params, ParamsReader};

use crate::protocol::{encode, ErrorObject};
use subscribe::SubscriptionEntry;

/// The future of one running call: its whole reply frame (empty for a
/// notification), or its error.
pub(crate) type MethodFuture =
    Pin<Box<dyn Future<Output = Result<String, ErrorObject>> + Send + 'static>>;

/// A registered method: decodes the params (borrowed from the frame) and
/// returns the future that computes the result. `reply` is the start of
/// the response when the call is answered ([`encode::response_ok_head`]):
/// the result is serialized straight after it, with no JSON text between.
pub(crate) type MethodFn =
    dyn Fn(Params<'_>, &Context, Option<String>) -> Result<MethodFuture, ErrorObject> + Send + Sync;

#[derive(Clone)]
pub(crate) enum Entry {
    Method(Arc<MethodFn>),
    Subscribe(Arc<SubscriptionEntry>),
    Unsubscribe(Arc<SubscriptionEntry>),
}

/// Maps method names to handlers.
///
/// Names are unique: registering one twice is an error, and names starting
/// with `rpc.` are reserved by the spec (the router serves `rpc.discover`
/// itself when it has an OpenRPC document: [`Router::set_openrpc`]). Several routers merge into one, so
/// several services can share a connection.
///
/// # Examples
///
/// ```
/// use wirecall::{Context, ErrorObject, Params, Router};
///
/// # tokio_test_block_on(async {
/// let mut router = Router::new();
/// router
///     .method("subtract", |params: Params<'_>, _: &Context| {
///         let mut p = params.reader()?;
///         let (minuend, subtrahend): (i64, i64) = (p.next("minuend")?, p.next("subtrahend")?);
///         p.finish()?;
///         Ok(async move { Ok::<_, ErrorObject>(minuend - subtrahend) })
///     })
///     .unwrap();
/// let reply = router.handle(r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#).await;
/// assert_eq!(reply.unwrap(), r#"{"jsonrpc":"2.0","id":1,"result":19}"#);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Router {
    /// Looked up once per call. Fx hashing is several times cheaper than
    /// SipHash for short names, and its weakness to chosen keys does not
    /// apply: peers only look names up, they never add to the map.
    entries: HashMap<Box<str>, Entry, rustc_hash::FxBuildHasher>,
    /// Per-call middleware, outermost first.
    layers: Vec<Arc<dyn Layer>>,
    /// The OpenRPC document served as `rpc.discover`.
    openrpc: Option<Arc<crate::openrpc::Document>>,
}

/// Why a name could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// The name is taken already.
    #[error("method `{0}` is registered twice")]
    Duplicate(String),
    /// The name starts with `rpc.`, which the spec reserves.
    #[error("method `{0}` uses the reserved `rpc.` prefix")]
    Reserved(String),
}

impl Router {
    /// An empty router.
    pub fn new() -> Router {
        Router::default()
    }

    /// Registers a method.
    ///
    /// `handler` runs as soon as the call is read: it decodes the params (see
    /// [`Params::reader`]) and returns the future that produces the result.
    /// The same handler serves notifications; their result is discarded.
    ///
    /// # Errors
    ///
    /// [`RegisterError`] when the name is taken or reserved.
    pub fn method<F, Fut, T, E>(
        &mut self,
        name: &str,
        handler: F,
    ) -> Result<&mut Router, RegisterError>
    where
        F: Fn(Params<'_>, &Context) -> Result<Fut, ErrorObject> + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize,
        E: Into<ErrorObject>,
    {
        self.insert(name, Entry::Method(method_fn(handler)))?;
        Ok(self)
    }

    pub(crate) fn insert(&mut self, name: &str, entry: Entry) -> Result<(), RegisterError> {
        if name.starts_with("rpc.") {
            return Err(RegisterError::Reserved(name.to_owned()));
        }
        if self.entries.contains_key(name) {
            return Err(RegisterError::Duplicate(name.to_owned()));
        }
        self.entries.insert(name.into(), entry);
        Ok(())
    }

    pub(crate) fn remove(&mut self, name: &str) {
        self.entries.remove(name);
    }

    /// Adds a [`Layer`] around every call this router dispatches. Layers
    /// run in the order they were added: the first added sees a call first
    /// and its outcome last.
    pub fn layer(&mut self, layer: impl Layer) -> &mut Router {
        self.layers.push(Arc::new(layer));
        self
    }

    pub(crate) fn layers(&self) -> &[Arc<dyn Layer>] {
        &self.layers
    }

    /// Moves every method of `other` into this router. Its layers come
    /// after this router's own and, like them, wrap every call. When both
    /// have an OpenRPC document, `rpc.discover` then answers with the two
    /// merged ([`Document::merge`](crate::openrpc::Document::merge)).
    ///
    /// # Errors
    ///
    /// [`RegisterError::Duplicate`] naming the first clash; nothing is moved then.
    pub fn merge(&mut self, mut other: Router) -> Result<&mut Router, RegisterError> {
        if let Some(name) = other
            .entries
            .keys()
            .find(|name| &***name != discover::DISCOVER && self.entries.contains_key(*name))
        {
            return Err(RegisterError::Duplicate(name.to_string()));
        }
        other.entries.remove(discover::DISCOVER);
        self.entries.extend(other.entries);
        self.layers.extend(other.layers);
        self.merge_openrpc(other.openrpc);
        Ok(self)
    }

    /// The registered method names, in no particular order.
    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(AsRef::as_ref)
    }

    pub(crate) fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.get(name)
    }

    /// Whether a call to `method` starts a subscription (`rpc.resume` does).
    #[cfg(feature = "server")]
    pub(crate) fn opens_stream(&self, method: &str) -> bool {
        method == crate::protocol::envelope::RESUME_METHOD
            || matches!(self.entry(method), Some(Entry::Subscribe(_)))
    }

    /// Processes one frame end to end, outside any connection: returns the
    /// frame to send back, or `None` when nothing must be sent (notifications,
    /// a batch of notifications, a stray response).
    ///
    /// Subscriptions need a live connection and are answered with an error here.
    pub async fn handle(&self, frame: &str) -> Option<String> {
        self.handle_with(frame, &Context::default()).await
    }

    /// [`Router::handle`] with a given context.
    pub async fn handle_with(&self, frame: &str, ctx: &Context) -> Option<String> {
        let message = crate::protocol::Message::parse(frame);
        frame::respond_message(self, message, ctx).await
    }
}

/// A handler as the router stores it: params decoded, then a future that
/// writes the reply frame (nothing for a notification).
fn method_fn<F, Fut, T, E>(handler: F) -> Arc<MethodFn>
where
    F: Fn(Params<'_>, &Context) -> Result<Fut, ErrorObject> + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Serialize,
    E: Into<ErrorObject>,
{
    Arc::new(move |params, ctx, reply| {
        let future = handler(params, ctx)?;
        Ok(Box::pin(async move {
            let value = future.await.map_err(Into::into)?;
            match reply {
                Some(head) => encode::response_ok_with(head, &value).map_err(|err| {
                    ErrorObject::internal_error(format!("the result did not serialize: {err}"))
                }),
                None => Ok(String::new()),
            }
        }) as MethodFuture)
    })
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.method_names().collect();
        names.sort_unstable();
        f.debug_struct("Router")
            .field("methods", &names)
            .field("layers", &self.layers.len())
            .finish_non_exhaustive()
    }
}

pub(crate) use dispatch::Reply;
pub(crate) use frame::prepare_message;
