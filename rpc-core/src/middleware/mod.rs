//! The per-call layers wirecall ships: tracing spans, metrics, a
//! per-connection rate limit and a per-call timeout. Add them with
//! [`Router::layer`](crate::Router::layer); write your own with
//! [`Layer`](crate::Layer).
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
pub use rate_limit::RateLimit;
pub use timeout::Timeout;
pub use trace::Trace;
