//! Several calls and notifications sent as one frame, and their answers.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use tokio::sync::oneshot;

use super::params::to_params;
use super::pending::{Forget, Waiter};
use crate::protocol::{encode, Id};
use crate::session::{CallError, Closed, Session};

/// Calls and notifications to send together in one frame.
///
/// # Examples
///
/// ```
/// use wirecall::Batch;
///
/// let mut batch = Batch::new();
/// let sum = batch.call::<i64>("sum", [1, 2, 4]).unwrap();
/// batch.notify("notify_hello", [7]).unwrap();
/// assert_eq!(batch.len(), 2);
/// # let _ = sum;
/// ```
#[derive(Debug, Default)]
pub struct Batch {
    entries: Vec<BatchEntry>,
    calls: usize,
}

#[derive(Debug)]
struct BatchEntry {
    method: String,
    params: Option<Box<RawValue>>,
    is_call: bool,
}

/// Where one call's answer will be in a [`BatchResponse`], typed.
#[derive(Debug)]
pub struct BatchSlot<T> {
    index: usize,
    answer: PhantomData<fn() -> T>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a call; the slot reads its typed answer from the response.
    ///
    /// # Errors
    ///
    /// [`CallError::Encode`] when the params do not serialize.
    pub fn call<T: DeserializeOwned>(
        &mut self,
        method: &str,
        params: impl Serialize,
    ) -> Result<BatchSlot<T>, CallError> {
        let params = to_params(&params)?;
        self.entries.push(BatchEntry {
            method: method.into(),
            params,
            is_call: true,
        });
        self.calls += 1;
        Ok(BatchSlot {
            index: self.calls - 1,
            answer: PhantomData,
        })
    }

    /// Adds a notification.
    ///
    /// # Errors
    ///
    /// [`CallError::Encode`] when the params do not serialize.
    pub fn notify(&mut self, method: &str, params: impl Serialize) -> Result<(), CallError> {
        let params = to_params(&params)?;
        self.entries.push(BatchEntry {
            method: method.into(),
            params,
            is_call: false,
        });
        Ok(())
    }

    /// Entries so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The answers to a batch's calls.
#[derive(Debug)]
pub struct BatchResponse {
    outcomes: Vec<Result<Box<RawValue>, CallError>>,
}

impl BatchResponse {
    /// Takes the answer for `slot`, decoded.
    ///
    /// # Errors
    ///
    /// That call's [`CallError`]; taking a slot twice reports a closed error.
    pub fn take<T: DeserializeOwned>(&mut self, slot: &BatchSlot<T>) -> Result<T, CallError> {
        let outcome = std::mem::replace(
            &mut self.outcomes[slot.index],
            Err(CallError::Closed(Closed::new(
                None,
                "batch answer already taken",
            ))),
        );
        serde_json::from_str(outcome?.get()).map_err(CallError::Decode)
    }
}

/// Sends every entry of `batch` in one frame on `session` and waits for all
/// answers until `deadline`. `Err(Closed)` means the frame was not sent.
pub(crate) async fn send(
    session: &Session,
    batch: &Batch,
    deadline: crate::rt::Instant,
) -> Result<BatchResponse, CallError> {
    let mut waiters = Vec::with_capacity(batch.calls);
    let mut frames = Vec::with_capacity(batch.entries.len());
    for entry in &batch.entries {
        let params = entry.params.as_deref();
        if entry.is_call {
            let (reply, answer) = oneshot::channel();
            let id = match session.register(Waiter::Call(reply)) {
                Ok(id) => id,
                Err(err) => {
                    forget_all(session, &waiters);
                    return Err(err);
                }
            };
            frames.push(encode::request(&Id::from(id), &entry.method, params));
            waiters.push((id, answer));
        } else {
            frames.push(encode::notification(&entry.method, params));
        }
    }
    if let Err(closed) = session.send_frame(encode::batch(frames)).await {
        forget_all(session, &waiters);
        return Err(CallError::Closed(closed));
    }
    let _forget: Vec<_> = waiters
        .iter()
        .map(|(id, _)| Forget {
            pending: &session.pending,
            id: *id,
        })
        .collect();
    let mut outcomes = Vec::with_capacity(waiters.len());
    for (_, answer) in waiters {
        outcomes.push(match session.await_answer(answer, deadline).await {
            Ok(reply) => reply,
            Err(err) => Err(err),
        });
    }
    Ok(BatchResponse { outcomes })
}

fn forget_all<T>(session: &Session, waiters: &[(u64, T)]) {
    for (id, _) in waiters {
        session.pending.remove(*id);
    }
}
