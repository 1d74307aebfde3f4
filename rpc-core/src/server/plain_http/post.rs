//! A `POST`: its checks (content type, size, time, the connection limit,
//! the hook), then the call or batch through the router, answered as JSON,
//! or 204 when nothing is due; or, asked for an event stream, a
//! subscription (`sse.rs`). A client that accepts both JSON and an event
//! stream gets a stream only for a call that subscribes, so one client can
//! post every call the same way.

use std::net::SocketAddr;

use super::super::accept::Slot;
use super::super::handshake;
use super::{body, full, h, plain, sse, HttpBody, Server};
use crate::protocol::{encode, ErrorCode, ErrorObject, Id, Incoming, Message};
use crate::router::Context;
use crate::telemetry;

pub(super) async fn answer(
    server: &Server,
    request: h::Request<hyper::body::Incoming>,
    remote_addr: Option<SocketAddr>,
) -> h::Response<HttpBody> {
    let shared = &server.shared;
    if !is_json(&request) {
        return plain(
            h::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a JSON-RPC call is sent as Content-Type: application/json",
        );
    }
    // A request in flight holds a connection's place, as a WebSocket does.
    let Some(slot) = Slot::take(shared) else {
        telemetry::connection_refused("limit");
        let mut refused = plain(h::StatusCode::TOO_MANY_REQUESTS, "too many connections");
        refused
            .headers_mut()
            .insert(h::header::RETRY_AFTER, h::HeaderValue::from_static("1"));
        return refused;
    };
    let head = {
        let mut head = h::Request::new(());
        *head.method_mut() = request.method().clone();
        *head.uri_mut() = request.uri().clone();
        *head.headers_mut() = request.headers().clone();
        head
    };
    // The Origin was checked already; the hook sees the request as an upgrade's would be.
    let extensions = match handshake::admit(&head, remote_addr, None, shared.builder.hook.as_ref())
    {
        Ok(extensions) => extensions,
        Err(rejection) => {
            let status =
                h::StatusCode::from_u16(rejection.status()).unwrap_or(h::StatusCode::FORBIDDEN);
            return plain(status, rejection.reason());
        }
    };
    let events = accepts(&head, "text/event-stream");
    let json_too = accepts(&head, "application/json");
    let body = match body::read(
        request,
        shared.builder.max_message_size,
        shared.builder.handshake_timeout,
    )
    .await
    {
        Ok(body) => body,
        Err(refusal) => return refusal.into_response(),
    };
    // Not UTF-8 is not JSON: the router answers it with -32700.
    let text = String::from_utf8_lossy(&body);
    // A client that takes either gets a stream only for a subscription.
    if events && (!json_too || opens_stream(server, &text)) {
        return sse::stream(server, &head, &text, extensions, remote_addr, slot);
    }
    // The same bound on a batch as over WebSocket.
    if let Message::Batch(items) = Message::parse(&text) {
        let max = shared.connection.max_batch_len;
        if items.len() > max {
            let refusal = ErrorObject::new(
                ErrorCode::InvalidRequest,
                format!("a batch holds at most {max} entries"),
            );
            return json(encode::response_err(&Id::Null, &refusal));
        }
    }
    let ctx = Context::new(extensions, remote_addr);
    let answer = shared.router.handle_with(&text, &ctx).await;
    drop(slot);
    let Some(frame) = answer else {
        // Notifications only: nothing is due.
        let mut response = h::Response::new(super::empty());
        *response.status_mut() = h::StatusCode::NO_CONTENT;
        return response;
    };
    json(frame)
}

fn json(frame: String) -> h::Response<HttpBody> {
    let mut response = h::Response::new(full(frame));
    response.headers_mut().insert(
        h::header::CONTENT_TYPE,
        h::HeaderValue::from_static("application/json"),
    );
    response
}

/// `Content-Type: application/json`, with or without parameters.
fn is_json<B>(request: &h::Request<B>) -> bool {
    request
        .headers()
        .get(h::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether `frame` is one call that starts a subscription.
fn opens_stream(server: &Server, frame: &str) -> bool {
    match Message::parse(frame) {
        Message::Single(Incoming::Request(call)) => server.shared.router.opens_stream(&call.method),
        _ => false,
    }
}

/// Whether the client's `Accept` lists `mime`.
fn accepts<B>(request: &h::Request<B>, mime: &str) -> bool {
    request
        .headers()
        .get_all(h::header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|kind| {
            kind.split(';')
                .next()
                .is_some_and(|kind| kind.trim().eq_ignore_ascii_case(mime))
        })
}
