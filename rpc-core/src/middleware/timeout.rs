//! A time limit on every call, with per-method exceptions.

use std::collections::HashMap;
use std::time::Duration;

use crate::protocol::{ErrorCode, ErrorObject};
use crate::router::{Call, Layer, Next, Running};

/// Bounds how long a call may run: past its limit the handler is dropped
/// (cancelled at its next `.await`) and the call is answered with
/// [`ErrorCode::TIMED_OUT`] (-32006). For a subscribe call the limit runs
/// until the handler accepts or rejects; one that has not by then is
/// cancelled the way an unsubscribe cancels it (its pending sink closes,
/// and it is dropped 5 s later). An accepted subscription then lives as
/// long as it likes.
#[derive(Debug, Clone)]
pub struct Timeout {
    default: Duration,
    methods: HashMap<String, Duration>,
}

impl Timeout {
    /// Every call gets `limit`.
    pub fn new(limit: Duration) -> Timeout {
        Timeout {
            default: limit,
            methods: HashMap::new(),
        }
    }

    /// Calls to `method` get `limit` instead.
    #[must_use]
    pub fn method(mut self, method: &str, limit: Duration) -> Timeout {
        self.methods.insert(method.to_owned(), limit);
        self
    }
}

impl Layer for Timeout {
    fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running {
        let limit = self
            .methods
            .get(call.method())
            .copied()
            .unwrap_or(self.default);
        let running = next.run();
        Box::pin(async move {
            crate::rt::timeout(limit, running)
                .await
                .unwrap_or_else(|_| {
                    Err(ErrorObject::new(
                        ErrorCode::TIMED_OUT,
                        format!("the call ran past its limit of {limit:?} and was cancelled"),
                    ))
                })
        })
    }
}
