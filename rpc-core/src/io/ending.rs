//! How a connection ends by itself: a peer silent past the idle timeout, a
//! peer that vanished, or a frame it must not send. Each end gets its close
//! code, sent where there is still someone to send it to.

use std::time::Duration;

use futures_util::{Sink, SinkExt};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};

use crate::rt::{self, TaskSet};

use super::writer;
use crate::session::{Closed, ConnectionConfig, OutboundReceiver, Session};

/// RFC 6455's code for a connection that ended without a close frame; it is
/// reported, never sent.
const ABNORMAL_CLOSURE: u16 = 1006;

/// After `silent` without a frame from the peer: closes with 1001 past the
/// idle timeout, pings past the ping interval; `Some` when the connection
/// is over.
pub(super) async fn keep_alive<W>(
    ws: &mut W,
    config: &ConnectionConfig,
    silent: Duration,
) -> Option<Closed>
where
    W: Sink<WsMessage, Error = WsError> + Unpin,
{
    if config.idle_timeout.is_some_and(|limit| silent >= limit) {
        let frame = CloseFrame {
            code: CloseCode::Away,
            reason: "keep-alive timeout".into(),
        };
        writer::close(ws, frame, config.write_timeout).await;
        return Some(Closed::new(
            Some(1001),
            "the peer stayed silent past the idle timeout",
        ));
    }
    if config.ping_interval.is_some_and(|every| silent >= every) {
        let ping = rt::timeout(
            config.write_timeout,
            ws.send(WsMessage::Ping(
                tokio_tungstenite::tungstenite::Bytes::default(),
            )),
        )
        .await;
        if !matches!(ping, Ok(Ok(()))) {
            return Some(Closed::new(None, "could not ping the peer"));
        }
    }
    None
}

/// Ends the connection after reading failed with `err`: a peer that
/// vanished is 1006 (nothing to send), a message too big 1009, invalid
/// UTF-8 1007, a protocol violation 1002.
pub(super) async fn on_read_error<W>(ws: &mut W, err: WsError, write_timeout: Duration) -> Closed
where
    W: Sink<WsMessage, Error = WsError> + Unpin,
{
    if vanished(&err) {
        return Closed::new(
            Some(ABNORMAL_CLOSURE),
            format!("the connection dropped without a close frame ({err})"),
        );
    }
    let (code, reason) = match &err {
        WsError::Capacity(_) => (CloseCode::Size, "message too big"),
        WsError::Utf8(_) => (CloseCode::Invalid, "text frame is not UTF-8"),
        WsError::Protocol(_) => (CloseCode::Protocol, "protocol violation"),
        _ => return Closed::new(None, format!("read failed: {err}")),
    };
    tracing::debug!(%err, "closing the connection");
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    writer::close(ws, frame, write_timeout).await
}

/// A graceful stop: in-flight calls (`tasks`) finish and their answers
/// still go out, until `deadline` from now; then the connection closes
/// with 1001.
pub(super) async fn drain<W>(
    ws: &mut W,
    queue: &mut OutboundReceiver,
    tasks: &mut TaskSet<()>,
    session: &Session,
    deadline: Duration,
) -> Closed
where
    W: Sink<WsMessage, Error = WsError> + Unpin,
{
    let write_timeout = session.config.write_timeout;
    let deadline = rt::Instant::now() + deadline;
    loop {
        tokio::select! {
            joined = tasks.join_next() => if joined.is_none() { break },
            Some(out) = queue.recv() => {
                if writer::write_queued(ws, queue, out, write_timeout, &session.counters).await.is_err() {
                    break;
                }
            }
            () = rt::sleep_until(deadline) => {
                tracing::warn!("calls still running at the shutdown deadline were cancelled");
                break;
            }
        }
    }
    tasks.abort_all();
    while let Some(out) = queue.try_recv() {
        if writer::write_queued(ws, queue, out, write_timeout, &session.counters)
            .await
            .is_err()
        {
            break;
        }
    }
    let frame = CloseFrame {
        code: CloseCode::Away,
        reason: "server shutting down".into(),
    };
    writer::close(ws, frame, write_timeout).await
}

/// Whether the peer vanished (a TCP reset or end of stream before any close
/// frame) rather than broke the protocol.
fn vanished(err: &WsError) -> bool {
    use std::io::ErrorKind;
    match err {
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => true,
        WsError::Io(io) => matches!(
            io.kind(),
            ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
        ),
        _ => false,
    }
}
