//! The page's WebSocket as the session's socket: its events feed a queue
//! the session reads, and frames are written with `send`. The browser
//! answers pings itself and shows none, so the session's keep-alive pings
//! are answered here; a write waits while the browser holds more than
//! `WRITE_BUFFER` bytes unsent, so a slow network holds the session back
//! instead of growing the page's memory.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{FutureExt, Sink, Stream};
use send_wrapper::SendWrapper;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use crate::ConnectError;

/// Bytes the browser may hold unsent before a write waits.
const WRITE_BUFFER: u32 = 1 << 20;

/// How often a waiting write looks again.
const WRITE_RECHECK: Duration = Duration::from_millis(5);

/// What the page's WebSocket reports.
enum Report {
    Open,
    Frame(WsMessage),
    /// The socket closed (with its close frame) or failed.
    Closed(Option<CloseFrame>),
}

/// The page's socket and its event handlers, which must live as long as it.
struct Page {
    socket: WebSocket,
    _handlers: [Closure<dyn FnMut(JsEvent)>; 4],
}

type JsEvent = wasm_bindgen::JsValue;

impl Drop for Page {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onerror(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

/// A [`Socket`](wirecall_core::io::Socket) over the browser's WebSocket.
pub(crate) struct BrowserSocket {
    // The page has one thread: the wrapper never leaves it.
    page: SendWrapper<Page>,
    reports: mpsc::UnboundedReceiver<Report>,
    /// A pong owed for a ping the session sent.
    pong: Option<WsMessage>,
    /// Woken when a pong is owed.
    reader: Option<std::task::Waker>,
    /// The timer a waiting write looks again after.
    recheck: Option<Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
    ended: bool,
}

impl std::fmt::Debug for BrowserSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserSocket")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl BrowserSocket {
    /// Opens `url` and waits until the socket is open.
    pub(crate) async fn open(
        url: &str,
        timeout: Duration,
        max_message_size: usize,
    ) -> Result<BrowserSocket, ConnectError> {
        let socket = WebSocket::new(url)
            .map_err(|err| ConnectError::InvalidRequest(format!("{url:?}: {}", describe(&err))))?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let (sender, mut reports) = mpsc::unbounded_channel();
        let handlers = handlers(&socket, &sender, max_message_size);
        let mut socket = BrowserSocket {
            page: SendWrapper::new(Page {
                socket,
                _handlers: handlers,
            }),
            reports: mpsc::unbounded_channel().1,
            pong: None,
            reader: None,
            recheck: None,
            ended: false,
        };
        let timer = std::pin::pin!(sleep(timeout));
        let opened = match futures_util::future::select(std::pin::pin!(reports.recv()), timer).await
        {
            futures_util::future::Either::Left((report, _)) => Ok(report),
            futures_util::future::Either::Right(_) => Err(()),
        };
        match opened {
            Ok(Some(Report::Open)) => {
                socket.reports = reports;
                Ok(socket)
            }
            Ok(Some(Report::Closed(frame))) => Err(ConnectError::Unreachable(
                format!(
                    "the browser could not open the WebSocket (close code {})",
                    frame.map_or(1006, |frame| u16::from(frame.code))
                )
                .into(),
            )),
            Ok(_) => Err(ConnectError::Unreachable(
                "the browser could not open the WebSocket".into(),
            )),
            Err(()) => Err(ConnectError::Timeout(timeout)),
        }
    }
}

/// The socket's four event handlers, each reporting on `sender`.
fn handlers(
    socket: &WebSocket,
    sender: &mpsc::UnboundedSender<Report>,
    max_message_size: usize,
) -> [Closure<dyn FnMut(JsEvent)>; 4] {
    let report = |make: fn(JsEvent, usize) -> Option<Report>| {
        let sender = sender.clone();
        Closure::<dyn FnMut(JsEvent)>::new(move |event: JsEvent| {
            if let Some(report) = make(event, max_message_size) {
                let _ = sender.send(report);
            }
        })
    };
    let on_open = report(|_, _| Some(Report::Open));
    let on_message = report(|event, limit| {
        let event: MessageEvent = event.unchecked_into();
        let data = event.data();
        let frame = if let Some(text) = data.as_string() {
            if text.len() > limit {
                return Some(too_big(limit));
            }
            WsMessage::Text(text.into())
        } else if let Ok(buffer) = data.dyn_into::<js_sys::ArrayBuffer>() {
            if buffer.byte_length() as usize > limit {
                return Some(too_big(limit));
            }
            WsMessage::Binary(js_sys::Uint8Array::new(&buffer).to_vec().into())
        } else {
            return None;
        };
        Some(Report::Frame(frame))
    });
    // An error is followed by a close event, which says how it ended.
    let on_error = report(|_, _| None);
    let on_close = report(|event, _| {
        let event: CloseEvent = event.unchecked_into();
        Some(Report::Closed(Some(CloseFrame {
            code: CloseCode::from(event.code()),
            reason: event.reason().into(),
        })))
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    [on_open, on_message, on_error, on_close]
}

/// A message over the limit ends the connection, as natively (1009).
fn too_big(limit: usize) -> Report {
    Report::Closed(Some(CloseFrame {
        code: CloseCode::Size,
        reason: format!("a message over {limit} bytes").into(),
    }))
}

/// A timer that counts as `Send` (the page has one thread).
fn sleep(duration: Duration) -> SendWrapper<gloo_timers::future::TimeoutFuture> {
    let millis = duration.as_millis().min(i32::MAX as u128) as u32;
    SendWrapper::new(gloo_timers::future::TimeoutFuture::new(millis))
}

fn describe(err: &wasm_bindgen::JsValue) -> String {
    err.dyn_ref::<js_sys::Error>()
        .map_or_else(|| format!("{err:?}"), |err| String::from(err.message()))
}

impl Stream for BrowserSocket {
    type Item = Result<WsMessage, WsError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(pong) = this.pong.take() {
            return Poll::Ready(Some(Ok(pong)));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        loop {
            return match this.reports.poll_recv(cx) {
                Poll::Ready(Some(Report::Frame(frame))) => Poll::Ready(Some(Ok(frame))),
                Poll::Ready(Some(Report::Closed(frame))) => {
                    this.ended = true;
                    match frame {
                        Some(frame) if frame.code != CloseCode::Abnormal => {
                            Poll::Ready(Some(Ok(WsMessage::Close(Some(frame)))))
                        }
                        _ => Poll::Ready(Some(Err(WsError::Io(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            "the browser's WebSocket failed",
                        ))))),
                    }
                }
                // Opening was reported before the session began.
                Poll::Ready(Some(Report::Open)) => continue,
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => {
                    this.reader = Some(cx.waker().clone());
                    Poll::Pending
                }
            };
        }
    }
}

impl Sink<WsMessage> for BrowserSocket {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(Err(WsError::AlreadyClosed));
        }
        loop {
            if let Some(recheck) = this.recheck.as_mut() {
                if recheck.poll_unpin(cx).is_pending() {
                    return Poll::Pending;
                }
                this.recheck = None;
            }
            if this.page.socket.buffered_amount() <= WRITE_BUFFER {
                return Poll::Ready(Ok(()));
            }
            this.recheck = Some(Box::pin(sleep(WRITE_RECHECK)));
        }
    }

    fn start_send(self: Pin<&mut Self>, message: WsMessage) -> Result<(), WsError> {
        let this = self.get_mut();
        let sent = match message {
            WsMessage::Text(text) => this.page.socket.send_with_str(text.as_str()),
            WsMessage::Binary(bytes) => this.page.socket.send_with_u8_array(&bytes),
            WsMessage::Ping(payload) => {
                this.pong = Some(WsMessage::Pong(payload));
                if let Some(reader) = this.reader.take() {
                    reader.wake();
                }
                Ok(())
            }
            WsMessage::Close(frame) => {
                let (code, reason) = frame.map_or((1000, String::new()), |frame| {
                    (u16::from(frame.code), frame.reason.as_str().to_owned())
                });
                // A page may close only with 1000 or 3000-4999, and a
                // reason of at most 123 bytes.
                let code = if code == 1000 || (3000..5000).contains(&code) {
                    code
                } else {
                    1000
                };
                let mut end = reason.len().min(123);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                this.page
                    .socket
                    .close_with_code_and_reason(code, &reason[..end])
            }
            WsMessage::Pong(_) | WsMessage::Frame(_) => Ok(()),
        };
        sent.map_err(|err| WsError::Io(io::Error::new(io::ErrorKind::BrokenPipe, describe(&err))))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let _ = self.page.socket.close();
        Poll::Ready(Ok(()))
    }
}
