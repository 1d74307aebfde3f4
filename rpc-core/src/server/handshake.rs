//! The HTTP upgrade request as the server's hook sees it, and the ways to
//! refuse it.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_tungstenite::tungstenite::handshake::server::Request;
use tokio_tungstenite::tungstenite::http::{self, HeaderMap, StatusCode};

use crate::router::Extensions;
use crate::telemetry;

/// What the handshake hook knows about a connection before it is upgraded.
#[derive(Debug)]
pub struct HandshakeRequest<'a> {
    /// The request path, e.g. `/rpc`.
    pub path: &'a str,
    /// The query string, if any.
    pub query: Option<&'a str>,
    /// Every request header (Authorization, Origin, cookies…).
    pub headers: &'a HeaderMap,
    /// The peer's address.
    pub remote_addr: Option<SocketAddr>,
}

impl HandshakeRequest<'_> {
    /// The `Origin` header, if present and readable.
    pub fn origin(&self) -> Option<&str> {
        self.header("origin")
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer_token(&self) -> Option<&str> {
        self.header("authorization")?.strip_prefix("Bearer ")
    }
}

/// An HTTP refusal sent instead of the upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    status: u16,
    reason: String,
}

impl Rejection {
    pub(crate) fn new(status: u16, reason: impl Into<String>) -> Rejection {
        Rejection {
            status,
            reason: reason.into(),
        }
    }

    /// 401 Unauthorized: no or bad credentials.
    pub fn unauthorized(reason: impl Into<String>) -> Rejection {
        Rejection::new(401, reason)
    }

    /// 403 Forbidden: known, but not allowed.
    pub fn forbidden(reason: impl Into<String>) -> Rejection {
        Rejection::new(403, reason)
    }

    /// 400 Bad Request: a malformed upgrade.
    pub fn bad_request(reason: impl Into<String>) -> Rejection {
        Rejection::new(400, reason)
    }

    /// 426 Upgrade Required: not a WebSocket upgrade, or not version 13.
    /// Its response names the upgrade this server speaks.
    pub fn upgrade_required(reason: impl Into<String>) -> Rejection {
        Rejection::new(426, reason)
    }

    /// 429 Too Many Requests.
    pub fn too_many(reason: impl Into<String>) -> Rejection {
        Rejection::new(429, reason)
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Why, in words (sent as the response body).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The HTTP response to send: the status, the reason as a plain-text
    /// body, and for 426 the `Upgrade` and `Sec-WebSocket-Version: 13`
    /// headers RFC 6455 asks for.
    ///
    /// # Panics
    ///
    /// Never: every part is valid by construction.
    pub fn to_response(&self) -> http::Response<String> {
        let body = format!("{}\n", self.reason);
        let mut response = http::Response::builder()
            .status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST))
            .header("content-type", "text/plain; charset=utf-8")
            .header("content-length", body.len())
            .header("connection", "close");
        if self.status == 426 {
            response = response
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13");
        }
        response
            .body(body)
            .expect("a status from a u16 and fixed headers make a response")
    }
}

/// Decides whether to upgrade and what to attach to the connection.
pub type HandshakeHook =
    Arc<dyn Fn(&HandshakeRequest<'_>) -> Result<Extensions, Rejection> + Send + Sync>;

/// Runs the Origin allow-list and the hook on one upgrade request.
pub(crate) fn admit(
    request: &Request,
    remote_addr: Option<SocketAddr>,
    origins: Option<&[String]>,
    hook: Option<&HandshakeHook>,
) -> Result<Extensions, Rejection> {
    let view = HandshakeRequest {
        path: request.uri().path(),
        query: request.uri().query(),
        headers: request.headers(),
        remote_addr,
    };
    if let Some(allowed) = origins {
        match view.origin() {
            Some(origin) if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) => {}
            Some(origin) => {
                telemetry::connection_refused("origin");
                return Err(Rejection::forbidden(format!(
                    "origin {origin} is not allowed"
                )));
            }
            None => {
                telemetry::connection_refused("origin");
                return Err(Rejection::forbidden("an Origin header is required"));
            }
        }
    }
    match hook {
        Some(hook) => hook(&view).inspect_err(|_| telemetry::connection_refused("hook")),
        None => Ok(Extensions::new()),
    }
}
