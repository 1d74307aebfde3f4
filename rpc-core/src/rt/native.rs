//! tokio's runtime, timers and task sets.

use std::future::Future;
use std::time::Duration;
pub(crate) use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) use tokio::task::{yield_now, JoinSet as TaskSet};
pub(crate) use tokio::time::{sleep, sleep_until, Instant, Interval};

use super::Elapsed;

/// Runs `task` on its own.
pub(crate) fn spawn<F: Future<Output = ()> + Send + 'static>(task: F) {
    tokio::spawn(task);
}

/// Runs `task` on its own if a runtime is at hand; `false` if none is.
pub(crate) fn try_spawn<F: Future<Output = ()> + Send + 'static>(task: F) -> bool {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(task);
            true
        }
        Err(_) => false,
    }
}

pub(crate) async fn timeout<F: Future>(limit: Duration, future: F) -> Result<F::Output, Elapsed> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| Elapsed)
}

pub(crate) async fn timeout_at<F: Future>(
    deadline: Instant,
    future: F,
) -> Result<F::Output, Elapsed> {
    tokio::time::timeout_at(deadline, future)
        .await
        .map_err(|_| Elapsed)
}

/// Ticks every `period`, the first time at `start`.
pub(crate) fn interval_at(start: Instant, period: Duration) -> Interval {
    tokio::time::interval_at(start, period)
}
