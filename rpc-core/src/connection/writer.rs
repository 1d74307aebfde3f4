//! The one task that writes to a socket: it drains the bounded outbound
//! queue, coalesces whatever is waiting into one flush, and gives up on a
//! peer that stops reading.

use std::sync::Arc;

use futures_util::{Sink, SinkExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};

use super::session::{Outbound, Session};
use super::Closed;

/// Frames written before one flush, at most.
const COALESCE: usize = 64;

pub(crate) async fn run<W>(mut sink: W, mut queue: mpsc::Receiver<Outbound>, session: Arc<Session>)
where
    W: Sink<Message, Error = WsError> + Unpin,
{
    let write_timeout = session.config.write_timeout;
    loop {
        let first = tokio::select! {
            biased;
            next = queue.recv() => next,
            () = session.token().cancelled() => None,
        };
        let Some(first) = first else { break };
        let written = tokio::time::timeout(
            write_timeout,
            Box::pin(write_some(&mut sink, &mut queue, first)),
        )
        .await;
        match written {
            Ok(Ok(Progress::More)) => {}
            Ok(Ok(Progress::Closed(frame))) => {
                tracing::debug!(?frame, "close frame sent");
                session.shut_down(Closed::new(Some(frame.0), frame.1));
                break;
            }
            Ok(Err(err)) => {
                session.shut_down(Closed::new(None, format!("write failed: {err}")));
                break;
            }
            Err(_) => {
                tracing::warn!("peer is not reading; closing the connection");
                session.shut_down(Closed::new(
                    None,
                    "the peer stopped reading (write timeout)",
                ));
                break;
            }
        }
    }
    queue.close();
    // Flushes a queued close reply (tungstenite answers a peer's close frame
    // on the next write) so the peer sees a clean handshake, not 1006.
    let _ = tokio::time::timeout(write_timeout, sink.close()).await;
}

enum Progress {
    More,
    Closed((u16, String)),
}

async fn write_some<W>(
    sink: &mut W,
    queue: &mut mpsc::Receiver<Outbound>,
    first: Outbound,
) -> Result<Progress, WsError>
where
    W: Sink<Message, Error = WsError> + Unpin,
{
    let mut next = Some(first);
    let mut written = 0;
    while let Some(outbound) = next.take() {
        match outbound {
            Outbound::Text(text) => sink.feed(Message::text(text)).await?,
            Outbound::Ping => sink.feed(Message::Ping(Bytes::default())).await?,
            Outbound::Close(frame) => {
                let closed = (u16::from(frame.code), frame.reason.to_string());
                sink.send(Message::Close(Some(*frame))).await?;
                return Ok(Progress::Closed(closed));
            }
        }
        written += 1;
        if written < COALESCE {
            next = queue.try_recv().ok();
        }
    }
    sink.flush().await?;
    Ok(Progress::More)
}
