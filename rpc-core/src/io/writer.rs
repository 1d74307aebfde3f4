//! Writing to the socket, for the connection's one I/O task: frames are fed
//! in batches and flushed once, and a write that makes no progress within
//! the write timeout ends the connection (a peer that stops reading).

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::{Sink, SinkExt};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::session::{Closed, Outbound, OutboundReceiver};
use crate::telemetry::ConnectionCounters;

/// Frames written before one flush, at most.
pub(crate) const COALESCE: usize = 64;

/// Writes `first` and whatever else is queued (up to [`COALESCE`] frames),
/// then flushes. `Err` says why the connection must end.
pub(crate) async fn write_queued<W>(
    ws: &mut W,
    queue: &mut OutboundReceiver,
    first: Outbound,
    timeout: Duration,
    counters: &ConnectionCounters,
) -> Result<(), Closed>
where
    W: Sink<Message, Error = WsError> + Unpin,
{
    let written = crate::rt::timeout(timeout, async {
        let mut next = Some(first);
        // Taken from the queue a run at a time rather than frame by frame.
        let mut taken = VecDeque::new();
        let mut count = 0;
        let mut bytes = 0;
        while let Some(outbound) = next.take() {
            match outbound {
                Outbound::Text(text) => {
                    bytes += text.len();
                    ws.feed(Message::text(text)).await?;
                }
                Outbound::Close(frame) => {
                    counters.bytes_sent(bytes);
                    return Ok(Some(*frame));
                }
            }
            count += 1;
            if count < COALESCE {
                if taken.is_empty() {
                    queue.try_recv_many(&mut taken, COALESCE - count);
                }
                next = taken.pop_front();
            }
        }
        counters.bytes_sent(bytes);
        ws.flush().await?;
        Ok::<_, WsError>(None)
    })
    .await;
    match written {
        Ok(Ok(None)) => Ok(()),
        Ok(Ok(Some(frame))) => Err(close(ws, frame, timeout).await),
        Ok(Err(err)) => Err(Closed::new(None, format!("write failed: {err}"))),
        Err(_) => Err(stalled()),
    }
}

/// Writes frames produced by this task itself, then flushes.
pub(crate) async fn write_frames<W, I>(
    ws: &mut W,
    frames: I,
    timeout: Duration,
    counters: &ConnectionCounters,
) -> Result<(), Closed>
where
    W: Sink<Message, Error = WsError> + Unpin,
    I: IntoIterator<Item = String>,
{
    let written = crate::rt::timeout(timeout, async {
        let mut bytes = 0;
        for frame in frames {
            bytes += frame.len();
            ws.feed(Message::text(frame)).await?;
        }
        counters.bytes_sent(bytes);
        ws.flush().await
    })
    .await;
    match written {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(Closed::new(None, format!("write failed: {err}"))),
        Err(_) => Err(stalled()),
    }
}

/// Sends a close frame (best effort, bounded by `timeout`) and says why the
/// connection ended.
pub(crate) async fn close<W>(ws: &mut W, frame: CloseFrame, timeout: Duration) -> Closed
where
    W: Sink<Message, Error = WsError> + Unpin,
{
    let closed = Closed::new(Some(u16::from(frame.code)), frame.reason.to_string());
    let _ = crate::rt::timeout(timeout, ws.send(Message::Close(Some(frame)))).await;
    closed
}

fn stalled() -> Closed {
    tracing::warn!("peer is not reading; closing the connection");
    Closed::new(None, "the peer stopped reading (write timeout)")
}
