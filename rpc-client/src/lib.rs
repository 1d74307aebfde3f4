//! wirecall's client, over WebSocket or plain HTTP.
//!
//! [`Client::connect`] opens one multiplexed connection; the client is a
//! cheap clone-able handle, usable from many tasks at once, that derefs to
//! [`Peer`] for `call`, `notify`, `batch` and `subscribe`. Give the builder
//! a [`Router`](wirecall_core::Router) to answer calls the server makes.
//!
//! # Examples
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = wirecall::Client::connect("ws://127.0.0.1:4000/").await?;
//! let sum: i64 = client.call("sum", [1, 2, 4]).await?;
//! assert_eq!(sum, 7);
//! # Ok(()) }
//! ```
//!
//! # Over plain HTTP
//!
//! An `http://` or `https://` URL runs the same session over HTTP/1.1, so
//! everything above works unchanged, generated clients included:
//!
//! - each call, batch and notification is a `POST` (`Content-Type:
//!   application/json`) on a pool of keep-alive connections; at most
//!   [`ClientBuilder::http_connections`] are in flight, and further calls
//!   wait;
//! - a call is posted accepting JSON or an event stream, and a wirecall
//!   server answers a subscribe call with a Server-Sent Events stream whose
//!   events are the subscription's notifications; unsubscribing (or
//!   dropping the [`Subscription`](wirecall_core::Subscription)) closes it;
//! - a request that cannot reach the server, or a stream cut before its
//!   subscription ended, counts as a dropped connection: in-flight calls
//!   fail with `CallError::Disconnected`, and a client built with
//!   [`reconnect`](ClientBuilder::reconnect) carries on, resuming each
//!   subscription from its last position;
//! - an HTTP error status (413, 429, 401…) fails only the calls it
//!   answered, with [`ErrorCode::HTTP_REFUSED`](wirecall_core::ErrorCode::HTTP_REFUSED)
//!   (-32008) and the status in `data.status`;
//! - the server cannot call the client over HTTP: give the builder a
//!   router only for WebSocket URLs.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = wirecall::Client::connect("http://127.0.0.1:4000/").await?;
//! let sum: i64 = client.call("sum", [1, 2, 4]).await?;
//! # Ok(()) }
//! ```

#[cfg(target_arch = "wasm32")]
mod browser;
mod builder;
mod error;
#[cfg(not(target_arch = "wasm32"))]
mod http;
#[cfg(not(target_arch = "wasm32"))]
mod websocket;

pub use builder::ClientBuilder;
pub use error::ConnectError;
/// The WebSocket library the client runs on, for [`WebSocket`]'s frames.
pub use tokio_tungstenite as tungstenite;
#[cfg(not(target_arch = "wasm32"))]
pub use websocket::WebSocket;
pub use wirecall_core::io::ReconnectPolicy;
pub use wirecall_core::{ConnectionEvent, ConnectionState};

use std::ops::Deref;
use std::sync::Arc;

use wirecall_core::Peer;

/// A connected client: a handle to one WebSocket connection.
///
/// Clone it to share the connection; every method of [`Peer`] is available
/// through `Deref`. When the last clone is dropped the connection is closed
/// (code 1000).
///
/// # Examples
///
/// ```no_run
/// use wirecall::{Batch, Client};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::connect("ws://127.0.0.1:4000/").await?;
/// let sum: i64 = client.call("sum", [1, 2, 4]).await?;
/// client.notify("log", ["summed"]).await?;
///
/// let mut batch = Batch::new();
/// let first = batch.call::<i64>("sum", [1, 1])?;
/// let second = batch.call::<i64>("sum", [2, 2])?;
/// let mut answers = client.batch(batch).await?;
/// assert_eq!(answers.take(&first)? + answers.take(&second)?, 6);
///
/// // Every clone shares the one connection; it closes with the last one.
/// let for_a_task = client.clone();
/// tokio::spawn(async move { for_a_task.call::<i64>("sum", [sum]).await });
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    owner: Arc<Owner>,
}

/// Closes the connection when the last `Client` clone goes away.
#[derive(Debug)]
struct Owner {
    peer: Peer,
}

impl Drop for Owner {
    fn drop(&mut self) {
        self.peer.close_in_background();
    }
}

impl Client {
    /// Connects with the default settings.
    ///
    /// # Errors
    ///
    /// [`ConnectError`] when the URL is bad, the server is unreachable or
    /// refuses the upgrade, or the connect timeout passes.
    pub async fn connect(url: &str) -> Result<Client, ConnectError> {
        ClientBuilder::default().connect(url).await
    }

    /// A builder for timeouts, limits, headers, TLS and a router.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The connection handle.
    pub fn peer(&self) -> &Peer {
        &self.owner.peer
    }

    pub(crate) fn from_peer(peer: Peer) -> Client {
        Client {
            owner: Arc::new(Owner { peer }),
        }
    }
}

impl wirecall_core::AsPeer for Client {
    fn as_peer(&self) -> &Peer {
        &self.owner.peer
    }
}

impl Deref for Client {
    type Target = Peer;

    fn deref(&self) -> &Peer {
        &self.owner.peer
    }
}
