//! Middleware: the per-call layers wirecall ships (tracing spans, metrics,
//! a per-connection rate limit and a per-call timeout), and what a layer of
//! your own is written with — [`Layer`] and [`Next`] around the calls a
//! router serves, [`OutgoingLayer`] and [`OutgoingNext`] around the calls a
//! connection sends. Add a layer with [`Router::layer`](crate::Router::layer).
//!
//! A common stack puts tracing outermost (so the other layers' refusals are
//! in a span), then metrics (so refusals are counted), then the limits:
//!
//! ```
//! use std::time::Duration;
//! use wirecall::middleware::{Metrics, RateLimit, Timeout, Trace};
//! use wirecall::Router;
//!
//! let mut router = Router::new();
//! router
//!     .layer(Trace::new())
//!     .layer(Metrics::new())
//!     .layer(RateLimit::per_connection(50.0, 100))
//!     .layer(Timeout::new(Duration::from_secs(10)));
//! ```

mod metrics;
mod rate_limit;
mod timeout;
mod trace;

pub use self::metrics::Metrics;
pub use crate::router::{Call, CallKind, Done, Layer, Next, Outcome, Running};
pub use crate::session::{
    OutgoingCall, OutgoingLayer, OutgoingLayers, OutgoingNext, OutgoingRunning,
};
pub use rate_limit::RateLimit;
pub use timeout::Timeout;
pub use trace::Trace;
