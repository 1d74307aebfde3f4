//! The browser's event loop: tasks through `wasm_bindgen_futures`, timers
//! through `setTimeout` (gloo-timers), the clock through `performance.now()`
//! (web-time). A page has one thread, so the timers' JavaScript handles are
//! wrapped to count as `Send`, which lets the engine's futures keep the
//! same bounds as natively (`SendWrapper` would panic on another thread,
//! and there is none).

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use futures_util::future::{self, AbortHandle, Abortable, Either};
use send_wrapper::SendWrapper;
use tokio::sync::mpsc;

pub(crate) use web_time::{Instant, SystemTime, UNIX_EPOCH};

use super::Elapsed;

/// Runs `task` on the page's event loop.
pub(crate) fn spawn<F: Future<Output = ()> + 'static>(task: F) {
    wasm_bindgen_futures::spawn_local(task);
}

/// Runs `task`; the page's loop is always at hand.
pub(crate) fn try_spawn<F: Future<Output = ()> + 'static>(task: F) -> bool {
    spawn(task);
    true
}

/// Waits for `duration`.
pub(crate) async fn sleep(duration: Duration) {
    // setTimeout takes whole milliseconds, at most i32::MAX of them.
    let millis = duration.as_millis().min(i32::MAX as u128) as u32;
    SendWrapper::new(gloo_timers::future::TimeoutFuture::new(millis)).await;
}

pub(crate) async fn sleep_until(deadline: Instant) {
    sleep(deadline.saturating_duration_since(Instant::now())).await;
}

pub(crate) async fn timeout<F: Future>(limit: Duration, future: F) -> Result<F::Output, Elapsed> {
    let (future, timer) = (pin!(future), pin!(sleep(limit)));
    match future::select(future, timer).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(_) => Err(Elapsed),
    }
}

pub(crate) async fn timeout_at<F: Future>(
    deadline: Instant,
    future: F,
) -> Result<F::Output, Elapsed> {
    timeout(deadline.saturating_duration_since(Instant::now()), future).await
}

/// Lets other tasks run before going on.
pub(crate) async fn yield_now() {
    let mut yielded = false;
    future::poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

/// Ticks every `period`, the first time at `start`.
pub(crate) struct Interval {
    next: Instant,
    period: Duration,
    /// The wait for `next`, once asked for.
    waiting: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl std::fmt::Debug for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.next)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

pub(crate) fn interval_at(start: Instant, period: Duration) -> Interval {
    Interval {
        next: start,
        period,
        waiting: None,
    }
}

impl Interval {
    /// Ready at the next tick.
    pub(crate) fn poll_tick(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Instant> {
        let next = self.next;
        let waiting = self
            .waiting
            .get_or_insert_with(|| Box::pin(sleep_until(next)));
        if waiting.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        self.waiting = None;
        let now = Instant::now();
        self.next = (self.next + self.period).max(now);
        Poll::Ready(now)
    }
}

/// Tasks that run on their own and end together, as tokio's `JoinSet`.
#[derive(Debug)]
pub(crate) struct TaskSet<T> {
    running: HashMap<u64, AbortHandle>,
    next: u64,
    finished: mpsc::UnboundedSender<u64>,
    finishing: mpsc::UnboundedReceiver<u64>,
    _output: std::marker::PhantomData<T>,
}

impl TaskSet<()> {
    pub(crate) fn new() -> TaskSet<()> {
        let (finished, finishing) = mpsc::unbounded_channel();
        TaskSet {
            running: HashMap::new(),
            next: 0,
            finished,
            finishing,
            _output: std::marker::PhantomData,
        }
    }

    pub(crate) fn spawn<F: Future<Output = ()> + 'static>(&mut self, task: F) {
        let (handle, registration) = AbortHandle::new_pair();
        let key = self.next;
        self.next += 1;
        self.running.insert(key, handle);
        let finished = self.finished.clone();
        spawn(async move {
            let _ = Abortable::new(task, registration).await;
            let _ = finished.send(key);
        });
    }

    /// Waits for one task to end; `None` when none is running. (The
    /// result's shape is tokio's, whose tasks may fail to join.)
    pub(crate) async fn join_next(&mut self) -> Option<Result<(), std::convert::Infallible>> {
        while !self.running.is_empty() {
            let key = self.finishing.recv().await?;
            if self.running.remove(&key).is_some() {
                return Some(Ok(()));
            }
        }
        None
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    pub(crate) fn abort_all(&mut self) {
        for (_, handle) in self.running.drain() {
            handle.abort();
        }
    }
}

impl<T> Drop for TaskSet<T> {
    fn drop(&mut self) {
        for handle in self.running.values() {
            handle.abort();
        }
    }
}
