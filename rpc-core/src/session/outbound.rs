//! The connection's outbound queue: frames other tasks hand to the I/O task.
//!
//! Bounded, many senders, one receiver, like tokio's `mpsc` channel, but it
//! holds nothing until the first frame: tokio's channel allocates its first
//! block of slots (about 1.2 KiB) when it is made, and most connections of a
//! busy server sit idle with an empty queue.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures_util::task::AtomicWaker;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// What other tasks ask the I/O task to put on the wire.
#[derive(Debug)]
pub(crate) enum Outbound {
    Text(String),
    // Boxed: rare, and it would double the size of every queue slot.
    Close(Box<CloseFrame>),
}

/// Why a frame could not be queued without waiting.
#[derive(Debug)]
pub(crate) enum TrySendError {
    /// No room now; the frame comes back.
    Full(Outbound),
    Closed,
}

#[derive(Debug)]
struct Shared {
    frames: Mutex<VecDeque<Outbound>>,
    /// One permit per free slot; closed with the queue, which wakes every
    /// sender waiting for room.
    room: Semaphore,
    receiver: AtomicWaker,
    closed: AtomicBool,
}

/// Queues frames; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct OutboundSender {
    shared: Arc<Shared>,
}

/// The I/O task's end. Dropping it closes the queue.
#[derive(Debug)]
pub(crate) struct OutboundReceiver {
    shared: Arc<Shared>,
}

/// A queue holding at most `capacity` frames (at least one).
pub(crate) fn channel(capacity: usize) -> (OutboundSender, OutboundReceiver) {
    let capacity = capacity.max(1);
    let shared = Arc::new(Shared {
        frames: Mutex::new(VecDeque::new()),
        room: Semaphore::new(capacity),
        receiver: AtomicWaker::new(),
        closed: AtomicBool::new(false),
    });
    let sender = OutboundSender {
        shared: shared.clone(),
    };
    (sender, OutboundReceiver { shared })
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Outbound>> {
        // A panic while holding this lock leaves the deque whole.
        self.frames
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Puts a frame whose slot is already taken at the back.
    fn push(&self, frame: Outbound) -> Result<(), Outbound> {
        {
            let mut frames = self.lock();
            // Checked under the lock: `close` drains under it too, so no
            // frame is left behind in a closed queue.
            if self.closed.load(Ordering::Acquire) {
                return Err(frame);
            }
            frames.push_back(frame);
        }
        self.receiver.wake();
        Ok(())
    }

    fn pop(&self) -> Option<Outbound> {
        let frame = self.lock().pop_front()?;
        self.room.add_permits(1);
        Some(frame)
    }

    /// Moves up to `max` frames into `into` under one lock, freeing their
    /// slots at once.
    fn pop_many(&self, into: &mut VecDeque<Outbound>, max: usize) {
        let taken = {
            let mut frames = self.lock();
            let taken = max.min(frames.len());
            into.extend(frames.drain(..taken));
            taken
        };
        if taken > 0 {
            self.room.add_permits(taken);
        }
    }
}

impl OutboundSender {
    /// Queues a frame, waiting while the queue is full; the frame comes back
    /// if the queue is closed.
    pub(crate) async fn send(&self, frame: Outbound) -> Result<(), Outbound> {
        match self.shared.room.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => return Err(frame),
        }
        self.shared.push(frame)
    }

    /// Queues the text frames of `run` in order, as many at a time as
    /// there is room for (waiting for room for at least one); `Err` once
    /// the queue is closed, with what was not queued left in `run`.
    pub(crate) async fn send_run(&self, run: &mut VecDeque<String>) -> Result<(), ()> {
        while !run.is_empty() {
            let room = self.shared.room.available_permits().clamp(1, run.len());
            let permits = u32::try_from(room).unwrap_or(u32::MAX);
            match self.shared.room.acquire_many(permits).await {
                Ok(permit) => permit.forget(),
                Err(_) => return Err(()),
            }
            {
                let mut frames = self.shared.lock();
                if self.shared.closed.load(Ordering::Acquire) {
                    return Err(());
                }
                frames.extend(run.drain(..permits as usize).map(Outbound::Text));
            }
            self.shared.receiver.wake();
        }
        Ok(())
    }

    /// Queues a frame if there is room now.
    pub(crate) fn try_send(&self, frame: Outbound) -> Result<(), TrySendError> {
        match self.shared.room.try_acquire() {
            Ok(permit) => permit.forget(),
            Err(tokio::sync::TryAcquireError::NoPermits) => return Err(TrySendError::Full(frame)),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(TrySendError::Closed),
        }
        self.shared.push(frame).map_err(|_| TrySendError::Closed)
    }

    /// Frames waiting for the I/O task.
    pub(crate) fn queued(&self) -> usize {
        self.shared.lock().len()
    }
}

impl OutboundReceiver {
    /// The next frame, waiting for one; `None` once the queue is closed and
    /// empty (the session keeps a sender, so only `close` ends it).
    pub(crate) async fn recv(&mut self) -> Option<Outbound> {
        poll_fn(|cx| {
            if let Some(frame) = self.try_recv() {
                return Poll::Ready(Some(frame));
            }
            self.shared.receiver.register(cx.waker());
            // Again after registering: a frame pushed in between woke nobody.
            match self.try_recv() {
                Some(frame) => Poll::Ready(Some(frame)),
                None if self.shared.closed.load(Ordering::Acquire) => Poll::Ready(None),
                None => Poll::Pending,
            }
        })
        .await
    }

    /// The next frame if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<Outbound> {
        self.shared.pop()
    }

    /// Up to `max` queued frames, appended to `into`: one lock and one
    /// release of their slots for the lot.
    pub(crate) fn try_recv_many(&mut self, into: &mut VecDeque<Outbound>, max: usize) {
        self.shared.pop_many(into, max);
    }

    /// Refuses new frames; those already queued can still be taken.
    pub(crate) fn close(&mut self) {
        let _guard = self.shared.lock();
        self.shared.closed.store(true, Ordering::Release);
        self.shared.room.close();
    }
}

impl Drop for OutboundReceiver {
    fn drop(&mut self) {
        self.close();
        self.shared.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(frame: Option<Outbound>) -> String {
        match frame {
            Some(Outbound::Text(text)) => text,
            other => format!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn frames_come_out_in_order_and_a_full_queue_makes_senders_wait() {
        let (sender, mut receiver) = channel(2);
        sender.send(Outbound::Text("1".into())).await.unwrap();
        sender.try_send(Outbound::Text("2".into())).unwrap();
        assert!(matches!(
            sender.try_send(Outbound::Text("3".into())),
            Err(TrySendError::Full(_))
        ));
        assert_eq!(sender.queued(), 2);
        let waiting = tokio::spawn({
            let sender = sender.clone();
            async move { sender.send(Outbound::Text("3".into())).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "no room yet");
        assert_eq!(text(receiver.recv().await), "1");
        waiting.await.unwrap().unwrap();
        assert_eq!(text(receiver.recv().await), "2");
        assert_eq!(text(receiver.recv().await), "3");
        assert!(receiver.try_recv().is_none());
    }

    #[tokio::test]
    async fn frames_taken_together_free_their_slots_together() {
        let (sender, mut receiver) = channel(3);
        for n in ["1", "2", "3"] {
            sender.try_send(Outbound::Text(n.into())).unwrap();
        }
        let mut taken = VecDeque::new();
        receiver.try_recv_many(&mut taken, 2);
        let texts: Vec<String> = taken.into_iter().map(|frame| text(Some(frame))).collect();
        assert_eq!(texts, ["1", "2"]);
        // Two slots are free again, and the third frame is still first.
        sender.try_send(Outbound::Text("4".into())).unwrap();
        sender.try_send(Outbound::Text("5".into())).unwrap();
        assert!(sender.try_send(Outbound::Text("6".into())).is_err());
        assert_eq!(text(receiver.try_recv()), "3");
    }

    #[tokio::test]
    async fn a_run_goes_in_as_room_allows_and_in_order() {
        let (sender, mut receiver) = channel(2);
        let mut run: VecDeque<String> = ["a", "b", "c"].map(String::from).into();
        let sending =
            tokio::spawn(async move { sender.send_run(&mut run).await.map(|()| run.len()) });
        tokio::task::yield_now().await;
        assert!(!sending.is_finished(), "room for two of three");
        let texts: Vec<String> = [(); 3].iter().map(|()| String::new()).collect();
        let mut texts = texts;
        for slot in &mut texts {
            *slot = text(receiver.recv().await);
        }
        assert_eq!(texts, ["a", "b", "c"]);
        assert_eq!(sending.await.unwrap(), Ok(0));
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_frame() {
        let (sender, mut receiver) = channel(4);
        let reading = tokio::spawn(async move { text(receiver.recv().await) });
        tokio::task::yield_now().await;
        sender.send(Outbound::Text("x".into())).await.unwrap();
        assert_eq!(reading.await.unwrap(), "x");
    }

    #[tokio::test]
    async fn closing_refuses_new_frames_frees_waiting_senders_and_keeps_queued_ones() {
        let (sender, mut receiver) = channel(1);
        sender.send(Outbound::Text("kept".into())).await.unwrap();
        let waiting = tokio::spawn({
            let sender = sender.clone();
            async move { sender.send(Outbound::Text("late".into())).await }
        });
        tokio::task::yield_now().await;
        receiver.close();
        assert!(
            waiting.await.unwrap().is_err(),
            "a waiting sender gets its frame back"
        );
        assert!(matches!(
            sender.try_send(Outbound::Text("after".into())),
            Err(TrySendError::Closed)
        ));
        assert_eq!(text(receiver.recv().await), "kept");
        assert!(receiver.recv().await.is_none());
    }

    #[test]
    fn an_unused_queue_holds_no_slots() {
        let (_sender, receiver) = channel(256);
        assert_eq!(receiver.shared.lock().capacity(), 0);
    }
}
