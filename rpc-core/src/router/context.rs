//! What a handler knows about the connection its call came from.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// A map from type to one value of that type: per-connection data such as the
/// authenticated user, attached by the server's handshake hook.
///
/// # Examples
///
/// ```
/// use wirecall::Extensions;
///
/// struct User(String);
/// let mut ext = Extensions::new();
/// ext.insert(User("ada".into()));
/// assert_eq!(ext.get::<User>().unwrap().0, "ada");
/// ```
#[derive(Default)]
pub struct Extensions {
    values: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl Extensions {
    /// An empty map.
    pub fn new() -> Extensions {
        Extensions::default()
    }

    /// Stores `value`, returning the value of the same type it replaces.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        self.values
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast().ok().map(|old| *old))
    }

    /// The stored value of type `T`, if any.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref())
    }

    /// The stored value of type `T`, if any, to change in place.
    pub fn get_mut<T: Send + Sync + 'static>(&mut self) -> Option<&mut T> {
        self.values
            .get_mut(&TypeId::of::<T>())
            .and_then(|v| v.downcast_mut())
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl fmt::Debug for Extensions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.values.len())
            .finish()
    }
}

/// The per-connection context handed to every handler: the data the handshake
/// attached, the peer's address, and a handle for calling the peer back.
///
/// Cheap to clone; clone what a handler's future needs to keep.
///
/// # Examples
///
/// ```
/// use wirecall::{Context, ErrorObject, Params, Router};
///
/// struct User(String);
///
/// let mut router = Router::new();
/// router.method("whoami", |_: Params<'_>, ctx: &Context| {
///     // Read what the handshake attached before the future starts…
///     let name = ctx.get::<User>().map(|user| user.0.clone());
///     // …and keep a handle to call the caller back later.
///     let caller = ctx.peer().cloned();
///     Ok(async move {
///         if let Some(caller) = caller {
///             let _ = caller.notify("seen", ()).await;
///         }
///         name.ok_or_else(|| ErrorObject::invalid_request("log in first"))
///     })
/// })?;
/// # Ok::<(), wirecall::RegisterError>(())
/// ```
#[derive(Clone, Default)]
pub struct Context {
    inner: Arc<ContextInner>,
}

#[derive(Default)]
struct ContextInner {
    extensions: Extensions,
    remote_addr: Option<SocketAddr>,
    peer: Option<crate::session::Peer>,
    connection_id: u64,
    /// State that code around the handlers keeps per connection.
    locals: Mutex<Extensions>,
}

impl Context {
    /// A context with the given data and address, and no peer handle.
    pub fn new(extensions: Extensions, remote_addr: Option<SocketAddr>) -> Context {
        Context::with_peer(extensions, remote_addr, None, 0)
    }

    pub(crate) fn with_peer(
        extensions: Extensions,
        remote_addr: Option<SocketAddr>,
        peer: Option<crate::session::Peer>,
        connection_id: u64,
    ) -> Context {
        Context {
            inner: Arc::new(ContextInner {
                extensions,
                remote_addr,
                peer,
                connection_id,
                locals: Mutex::default(),
            }),
        }
    }

    /// A number unique to this connection within the process (0 outside a
    /// connection): a key for per-connection state such as who joined a room.
    pub fn connection_id(&self) -> u64 {
        self.inner.connection_id
    }

    /// Runs `f` on this connection's value of type `T`, made with `Default`
    /// on first use: state that a [`Layer`](super::Layer) keeps per
    /// connection, such as a rate limit's bucket. Outside a connection
    /// (for example in [`Router::handle`](super::Router::handle)) each call
    /// has a context of its own, so the state lasts one call.
    ///
    /// # Panics
    ///
    /// Never: the value is inserted before it is looked up.
    pub fn with_local<T: Default + Send + Sync + 'static, R>(
        &self,
        f: impl FnOnce(&mut T) -> R,
    ) -> R {
        let mut locals = self
            .inner
            .locals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if locals.get::<T>().is_none() {
            locals.insert(T::default());
        }
        f(locals.get_mut::<T>().expect("inserted just above"))
    }

    /// The value of type `T` that the handshake attached, if any.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.extensions.get()
    }

    /// All attached data.
    pub fn extensions(&self) -> &Extensions {
        &self.inner.extensions
    }

    /// The peer's socket address, when the connection has one.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.inner.remote_addr
    }

    /// A handle for calling methods the peer exposes over the same connection.
    ///
    /// `None` outside a live connection (for example in [`Router::handle`](super::Router::handle)).
    pub fn peer(&self) -> Option<&crate::session::Peer> {
        self.inner.peer.as_ref()
    }
}

impl Context {
    /// The connection's session, when the call came over one.
    pub(crate) fn session(&self) -> Option<&Arc<crate::session::Session>> {
        self.inner
            .peer
            .as_ref()
            .and_then(|peer| peer.fixed_session())
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("extensions", &self.inner.extensions)
            .field("remote_addr", &self.inner.remote_addr)
            .finish_non_exhaustive()
    }
}
