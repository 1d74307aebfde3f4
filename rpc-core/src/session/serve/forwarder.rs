//! The forwarder: the task that moves a sink's buffered frames to the
//! connection's outbound queue, in order, once the subscribe reply is queued.

use std::collections::VecDeque;

use tokio::sync::oneshot;

use super::sink::{Forwarder, SinkShared};
use crate::protocol::envelope;
use crate::protocol::Resume;
use crate::session::Outbound;

/// What the forwarder does next.
pub(super) enum Next {
    Frame(String),
    Last(Option<String>),
    Wait,
}

impl SinkShared {
    /// What the forwarder sends next. A frame it takes marks it busy until
    /// it has queued that frame, so no item queued directly overtakes it.
    pub(super) fn next(&self) -> Next {
        let mut state = self.state.lock().expect("sink lock");
        if state.silenced {
            return Next::Last(None);
        }
        let has_news = state.lagged > 0 || !state.items.is_empty() || state.ending.is_some();
        if state.resume_untold && has_news {
            state.resume_untold = false;
            state.forwarder = Forwarder::Busy;
            let reset = envelope::resumed(&self.notification, &self.id, Resume::Reset);
            return Next::Frame(reset);
        }
        if state.lagged > 0 {
            let lagged = std::mem::take(&mut state.lagged);
            state.forwarder = Forwarder::Busy;
            return Next::Frame(self.lagged_frame(lagged));
        }
        if let Some(frame) = self.unbuffer_front(&mut state) {
            state.forwarder = Forwarder::Busy;
            drop(state);
            self.room_ready.notify_one();
            return Next::Frame(frame);
        }
        match &state.ending {
            Some(error) => Next::Last(Some(envelope::ended(&self.notification, &self.id, error))),
            None => Next::Wait,
        }
    }

    /// The buffered items right behind the frame [`SinkShared::next`] gave,
    /// up to `max`, under one lock: none while a notice must go first.
    pub(super) fn more_items(&self, run: &mut VecDeque<String>, max: usize) {
        let mut state = self.state.lock().expect("sink lock");
        if state.lagged > 0 || state.resume_untold {
            return;
        }
        while run.len() < max {
            let Some(frame) = self.unbuffer_front(&mut state) else {
                break;
            };
            run.push_back(frame);
        }
        drop(state);
        if !run.is_empty() {
            self.room_ready.notify_one();
        }
    }
}

/// Frames the forwarder moves to the connection at a time, at most.
const RUN: usize = 64;

/// Moves frames from the sink's buffer to the connection, in order, once the
/// subscribe reply is queued, until the sink ends or the connection does.
/// A producer faster than the connection fills the buffer; its items then
/// move a run at a time, with one lock and one wait for room per run.
pub(crate) async fn forward(shared: &SinkShared, released: oneshot::Receiver<()>) {
    if released.await.is_ok() {
        shared.state.lock().expect("sink lock").forwarder = Forwarder::Idle;
        loop {
            let ready = shared.item_ready.notified();
            match shared.next() {
                Next::Frame(frame) => {
                    let mut run = VecDeque::new();
                    shared.more_items(&mut run, RUN - 1);
                    let sent = if run.is_empty() {
                        shared.outbound.send(Outbound::Text(frame)).await.is_ok()
                    } else {
                        run.push_front(frame);
                        shared.outbound.send_run(&mut run).await.is_ok()
                    };
                    if !sent {
                        break;
                    }
                    shared.state.lock().expect("sink lock").forwarder = Forwarder::Idle;
                }
                Next::Last(notice) => {
                    if let Some(frame) = notice {
                        let _ = shared.outbound.send(Outbound::Text(frame)).await;
                    }
                    break;
                }
                Next::Wait => ready.await,
            }
        }
    }
    shared.finish_quietly();
}
