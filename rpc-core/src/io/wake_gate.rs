//! Polls a source only when it may have something to give.
//!
//! The I/O task wakes for many reasons (a queued frame, a finished call) and
//! would otherwise ask every source each time. Some are costly to ask for
//! nothing: tungstenite zeroes its read buffer (4 KiB by default) before
//! every read attempt, and a wait on a cancellation token takes a lock. A
//! gate passes the source a waker of its own and skips it until that waker
//! has fired since the last attempt came back empty.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_util::task::AtomicWaker;

pub(super) struct WakeGate {
    signal: Arc<Signal>,
    /// Passed to the source: records the wake, then wakes the task.
    waker: Waker,
    /// The last attempt found nothing and the source has not woken us since.
    idle: bool,
}

struct Signal {
    woken: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

impl WakeGate {
    pub(super) fn new() -> WakeGate {
        let signal = Arc::new(Signal {
            woken: AtomicBool::new(false),
            task: AtomicWaker::new(),
        });
        WakeGate {
            waker: Waker::from(signal.clone()),
            signal,
            idle: false,
        }
    }

    /// Polls the source with `poll`, unless it has nothing for sure; the task
    /// in `cx` is woken when it may have something.
    pub(super) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        self.signal.task.register(cx.waker());
        self.try_poll(poll).map_or(Poll::Pending, Poll::Ready)
    }

    /// The source's output if it has one now. A task that calls only this
    /// must have called [`WakeGate::poll`] before, so that a later wake
    /// reaches it.
    pub(super) fn try_poll<T>(
        &mut self,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Option<T> {
        if self.idle && !self.signal.woken.swap(false, Ordering::AcqRel) {
            return None;
        }
        match poll(&mut Context::from_waker(&self.waker)) {
            Poll::Ready(out) => {
                self.idle = false;
                Some(out)
            }
            Poll::Pending => {
                self.idle = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::task::noop_waker_ref;
    use futures_util::StreamExt;

    #[tokio::test]
    async fn an_idle_source_is_asked_again_only_after_it_wakes() {
        let (tx, rx) = tokio::sync::mpsc::channel::<u32>(4);
        let mut rx = Box::pin(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        let mut gate = WakeGate::new();
        let mut cx = Context::from_waker(noop_waker_ref());
        let asked = std::cell::Cell::new(0);
        let mut next = |cx: &mut Context<'_>| {
            asked.set(asked.get() + 1);
            rx.poll_next_unpin(cx)
        };
        assert!(gate.poll(&mut cx, &mut next).is_pending());
        // Nothing woke it: the channel is not asked again.
        assert!(gate.try_poll(&mut next).is_none());
        assert!(gate.poll(&mut cx, &mut next).is_pending());
        tx.send(7).await.expect("open");
        // The send woke the gate's waker, so the next attempt reads.
        assert_eq!(gate.try_poll(&mut next), Some(Some(7)));
        assert!(gate.try_poll(&mut next).is_none());
        drop(tx);
        assert_eq!(gate.poll(&mut cx, &mut next), Poll::Ready(None));
        assert_eq!(asked.get(), 4);
    }
}
