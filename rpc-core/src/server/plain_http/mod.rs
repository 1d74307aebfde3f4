//! JSON-RPC over plain HTTP, on the WebSocket endpoint's port and path,
//! through the same router, layers, limits, hook and Origin allow-list:
//! `POST` answers a call or a batch (204 for notifications only); a
//! subscribe call posted with `Accept: text/event-stream` is answered as
//! Server-Sent Events that resume with `Last-Event-ID` (`sse.rs`);
//! `OPTIONS` answers CORS preflights (`cors.rs`). A `GET` that asks for a
//! WebSocket upgrade is upgraded, so one keep-alive connection may carry
//! both.
//!
//! Calls from the server to the client cannot travel over plain HTTP: a
//! handler's `Context::peer` is `None` for a POST, and over SSE such a call
//! is answered at once with -32601.

mod body;
mod cors;
mod deadline;
mod post;
mod sse;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::accept::Slot;
use super::http as h;
use super::Server;

/// The body of a response to a plain-HTTP request.
pub type HttpBody = UnsyncBoxBody<Bytes, Infallible>;

/// Serves HTTP/1.1 on `io` until the client or the server closes it.
pub(super) async fn serve_connection<S>(server: Server, io: S, remote_addr: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let header_timeout = server.shared.builder.handshake_timeout;
    let drain = server.shared.drain.clone();
    let write_timeout = server.shared.connection.write_timeout;
    let service = hyper::service::service_fn(move |request| {
        let server = server.clone();
        async move { Ok::<_, Infallible>(server.serve_http(request, Some(remote_addr)).await) }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        // A keep-alive connection's next request head arrives in time, or
        // the connection closes (slow senders hold nothing for long), and
        // is as small as the first one must be.
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(super::request::MAX_HEAD)
        .max_headers(super::request::MAX_HEADERS)
        .serve_connection(
            TokioIo::new(deadline::WriteDeadline::new(io, write_timeout)),
            service,
        )
        .with_upgrades();
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = drain.cancelled() => {
            // Shutting down: the request under way finishes, no other starts.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(err) = outcome {
        tracing::debug!(%err, %remote_addr, "an HTTP connection ended with an error");
    }
}

impl Server {
    /// Answers one plain-HTTP request the way the built-in listener does:
    /// `POST` for calls, batches and notifications, and for subscriptions
    /// as Server-Sent Events; `OPTIONS` for CORS; a `GET` that asks for a
    /// WebSocket upgrade is upgraded (the connection must let hyper see the
    /// upgrade). Mount it on hyper or axum beside the WebSocket route.
    pub async fn serve_http(
        &self,
        request: h::Request<Incoming>,
        remote_addr: Option<SocketAddr>,
    ) -> h::Response<HttpBody> {
        let builder = &self.shared.builder;
        if self.shared.drain.is_cancelled() {
            return plain(
                h::StatusCode::SERVICE_UNAVAILABLE,
                "the server is shutting down",
            );
        }
        if let Some(path) = builder.path.as_deref() {
            if request.uri().path() != path {
                return plain(h::StatusCode::NOT_FOUND, "no JSON-RPC endpoint here");
            }
        }
        let origin = match cors::check_origin(&request, builder.origins.as_deref()) {
            Ok(origin) => origin,
            Err(refusal) => return refusal.into_response(),
        };
        let mut response = match *request.method() {
            h::Method::OPTIONS => cors::preflight(&request),
            h::Method::POST => post::answer(self, request, remote_addr).await,
            h::Method::GET if super::request::asks_for_websocket(&request) => {
                self.upgrade(request, remote_addr)
            }
            _ => {
                let mut refused = plain(
                    h::StatusCode::METHOD_NOT_ALLOWED,
                    "POST a JSON-RPC call, or GET with a WebSocket upgrade",
                );
                refused.headers_mut().insert(
                    h::header::ALLOW,
                    h::HeaderValue::from_static("GET, POST, OPTIONS"),
                );
                refused
            }
        };
        cors::allow(&mut response, origin);
        response
    }

    /// Upgrades a `GET` on a keep-alive HTTP connection to WebSocket.
    fn upgrade(
        &self,
        request: h::Request<Incoming>,
        remote_addr: Option<SocketAddr>,
    ) -> h::Response<HttpBody> {
        let (parts, body) = request.into_parts();
        let head = h::Request::from_parts(parts.clone(), ());
        let admitted = self
            .accept_upgrade(&head, remote_addr)
            .and_then(|admitted| {
                // The place is taken now, so a burst of upgrades cannot pass the limit.
                let slot = Slot::take(&self.shared)
                    .ok_or_else(|| super::Rejection::too_many("too many connections"))?;
                Ok((admitted, slot))
            });
        match admitted {
            Ok(((response, extensions), slot)) => {
                let server = self.clone();
                let request = h::Request::from_parts(parts, body);
                tokio::spawn(async move {
                    match hyper::upgrade::on(request).await {
                        Ok(upgraded) => drop(
                            server
                                .serve_upgraded_in(
                                    slot,
                                    TokioIo::new(upgraded),
                                    remote_addr,
                                    extensions,
                                )
                                .await,
                        ),
                        Err(err) => tracing::debug!(%err, "an HTTP upgrade failed"),
                    }
                });
                response.map(|()| empty())
            }
            Err(rejection) => {
                let status = h::StatusCode::from_u16(rejection.status())
                    .unwrap_or(h::StatusCode::BAD_REQUEST);
                plain(status, rejection.reason())
            }
        }
    }
}

/// A request refused, with the status and the reason to answer.
#[derive(Debug)]
pub(super) struct Refusal {
    status: h::StatusCode,
    reason: String,
}

impl Refusal {
    fn new(status: h::StatusCode, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
        }
    }

    fn into_response(self) -> h::Response<HttpBody> {
        plain(self.status, &self.reason)
    }
}

/// A response with a text body saying why.
fn plain(status: h::StatusCode, reason: &str) -> h::Response<HttpBody> {
    let mut response = h::Response::new(full(format!("{reason}\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        h::header::CONTENT_TYPE,
        h::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn full(body: impl Into<Bytes>) -> HttpBody {
    Full::new(body.into()).boxed_unsync()
}

fn empty() -> HttpBody {
    full(Bytes::new())
}
