//! The HTTP side of an upgrade: reading the request head off the socket,
//! the strict checks every upgrade passes (the built-in accept loop and
//! `Server::accept_upgrade` alike), and writing the answer.

use std::io;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_tungstenite::tungstenite::http;

use super::Rejection;

/// The longest request head read; a longer one is refused with 431.
pub(super) const MAX_HEAD: usize = 16 << 10;
/// Headers parsed at most; more are refused with 431.
pub(super) const MAX_HEADERS: usize = 64;

/// Reads one request head. Returns it, its bytes, and whatever the client
/// sent after it (the start of the WebSocket stream, if it did not wait
/// for the 101, or a body).
pub(super) async fn read<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<(http::Request<()>, Vec<u8>, Vec<u8>), Refused> {
    let mut buffer = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let read = stream.read(&mut chunk).await.map_err(Refused::Io)?;
        if read == 0 {
            return Err(Refused::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        let searched_from = buffer.len().saturating_sub(3);
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = find_end(&buffer[searched_from..]) {
            let end = searched_from + end;
            let rest = buffer.split_off(end);
            return parse(&buffer).map(|request| (request, buffer, rest));
        }
        if buffer.len() > MAX_HEAD {
            return Err(Refused::Http(Rejection::new(
                431,
                "the request head is too large",
            )));
        }
    }
}

/// Whether a request asks for a WebSocket upgrade (`Upgrade: websocket`);
/// any other goes to plain HTTP.
pub(super) fn asks_for_websocket<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get_all(http::header::UPGRADE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            value
                .split(',')
                .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
        })
}

/// Where the head ends (just past its blank line), if it does.
fn find_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Parses a complete request head.
pub(super) fn parse(head: &[u8]) -> Result<http::Request<()>, Refused> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let bad = |why: &str| Refused::Http(Rejection::bad_request(why.to_owned()));
    match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("the request head is incomplete")),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Refused::Http(Rejection::new(431, "too many headers")))
        }
        Err(err) => return Err(bad(&format!("malformed request: {err}"))),
    }
    if parsed.version != Some(1) {
        return Err(bad("an upgrade needs HTTP/1.1"));
    }
    let mut request = http::Request::builder()
        .method(parsed.method.unwrap_or("GET"))
        .uri(parsed.path.unwrap_or("/"))
        .version(http::Version::HTTP_11);
    for header in parsed.headers.iter() {
        request = request.header(header.name, header.value);
    }
    request
        .body(())
        .map_err(|err| bad(&format!("malformed request: {err}")))
}

/// Why an upgrade did not happen.
#[derive(Debug)]
pub(super) enum Refused {
    /// Answer with this HTTP error.
    Http(Rejection),
    /// The socket failed or closed; nothing can be answered.
    Io(io::Error),
}

/// Checks that `request` is a well-formed WebSocket upgrade for `path`;
/// returns its `Sec-WebSocket-Key`.
pub(super) fn check<'r>(
    request: &'r http::Request<()>,
    path: Option<&str>,
) -> Result<&'r str, Rejection> {
    if path.is_some_and(|path| request.uri().path() != path) {
        return Err(Rejection::new(404, "no WebSocket endpoint at this path"));
    }
    let headers = request.headers();
    for name in ["host", "sec-websocket-key", "sec-websocket-version"] {
        if headers.get_all(name).iter().count() > 1 {
            return Err(Rejection::bad_request(format!("{name} is given twice")));
        }
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let lists = |name: &str, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if request.method() != http::Method::GET
        || !lists("upgrade", "websocket")
        || !lists("connection", "upgrade")
    {
        return Err(Rejection::upgrade_required(
            "this endpoint speaks JSON-RPC over WebSocket: send a GET with Upgrade: websocket",
        ));
    }
    if text("host").is_none() {
        return Err(Rejection::bad_request("the Host header is missing"));
    }
    if text("sec-websocket-version") != Some("13") {
        return Err(Rejection::upgrade_required(
            "only WebSocket version 13 is supported",
        ));
    }
    match text("sec-websocket-key") {
        // 16 bytes in base64.
        Some(key) if key.len() == 24 && key.ends_with("==") => Ok(key),
        Some(_) => Err(Rejection::bad_request(
            "Sec-WebSocket-Key is not 16 bytes in base64",
        )),
        None => Err(Rejection::bad_request("Sec-WebSocket-Key is missing")),
    }
}

/// Writes `response` as HTTP/1.1 (a 101 or a refusal with its body).
pub(super) async fn answer<S, B>(stream: &mut S, response: &http::Response<B>) -> io::Result<()>
where
    S: AsyncWrite + Unpin,
    B: AsRef<[u8]>,
{
    let status = response.status();
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in response.headers() {
        head.push_str(name.as_str());
        head.push_str(": ");
        head.push_str(value.to_str().unwrap_or(""));
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(response.body().as_ref()).await?;
    stream.flush().await
}

/// A stream that first yields bytes already read past the request head.
#[derive(Debug)]
pub(crate) struct Prefixed<S> {
    prefix: Option<Box<[u8]>>,
    at: usize,
    inner: S,
}

impl<S> Prefixed<S> {
    pub(super) fn new(inner: S, prefix: Vec<u8>) -> Prefixed<S> {
        Prefixed {
            prefix: (!prefix.is_empty()).then(|| prefix.into_boxed_slice()),
            at: 0,
            inner,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Prefixed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(prefix) = &this.prefix {
            let n = (prefix.len() - this.at).min(buf.remaining());
            buf.put_slice(&prefix[this.at..this.at + n]);
            this.at += n;
            if this.at == prefix.len() {
                this.prefix = None;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Prefixed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(head: &str) -> http::Request<()> {
        parse(head.as_bytes()).unwrap()
    }

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn upgrade(extra: &str) -> String {
        format!(
            "GET /rpc HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    }

    #[test]
    fn a_good_upgrade_passes_and_gives_its_key() {
        assert_eq!(check(&request(&upgrade("")), None).unwrap(), KEY);
        assert_eq!(check(&request(&upgrade("")), Some("/rpc")).unwrap(), KEY);
    }

    #[test]
    fn each_fault_gets_its_status() {
        let status = |head: &str, path| check(&request(head), path).unwrap_err().status();
        assert_eq!(status(&upgrade(""), Some("/other")), 404);
        assert_eq!(status(&upgrade("Host: b\r\n"), None), 400);
        assert_eq!(
            status(&upgrade(&format!("Sec-WebSocket-Key: {KEY}\r\n")), None),
            400
        );
        assert_eq!(status(&upgrade("Sec-WebSocket-Version: 13\r\n"), None), 400);
        assert_eq!(status("GET / HTTP/1.1\r\nHost: a\r\n\r\n", None), 426);
        let old = upgrade("").replace("Version: 13", "Version: 8");
        let refused = check(&request(&old), None).unwrap_err();
        assert_eq!(refused.status(), 426);
        let response = refused.to_response();
        assert_eq!(response.headers()["sec-websocket-version"], "13");
    }

    #[test]
    fn heads_that_are_not_http_11_are_refused() {
        assert!(parse(b"GET / HTTP/1.0\r\nHost: a\r\n\r\n").is_err());
        assert!(parse(b"\x16\x03\x01garbage\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn bytes_after_the_head_are_kept() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let mut sent = upgrade("").into_bytes();
        sent.extend_from_slice(&[0x81, 0x05]);
        client.write_all(&sent).await.unwrap();
        let (_, _, rest) = read(&mut server).await.unwrap();
        let mut prefixed = Prefixed::new(server, rest);
        let mut first = [0u8; 2];
        prefixed.read_exact(&mut first).await.unwrap();
        assert_eq!(first, [0x81, 0x05]);
    }
}
