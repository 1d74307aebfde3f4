//! CORS for browsers: the same Origin allow-list as WebSocket upgrades. A
//! request from an allowed origin (or any origin, without a list) gets its
//! `Access-Control-Allow-Origin`; a preflight is answered with the methods
//! and headers a JSON-RPC call uses. A request from another origin is
//! refused with 403. A request with no Origin (curl, a server) is served:
//! CORS guards browsers, and other clients do not send one.

use super::{empty, h, HttpBody, Refusal};

/// The request's Origin when it may be served, or the refusal.
pub(super) fn check_origin<B>(
    request: &h::Request<B>,
    allowed: Option<&[String]>,
) -> Result<Option<h::HeaderValue>, Refusal> {
    let Some(origin) = request.headers().get(h::header::ORIGIN) else {
        return Ok(None);
    };
    let Some(allowed) = allowed else {
        return Ok(Some(origin.clone()));
    };
    let text = origin.to_str().unwrap_or("");
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(text)) {
        Ok(Some(origin.clone()))
    } else {
        crate::telemetry::connection_refused("origin");
        Err(Refusal::new(
            h::StatusCode::FORBIDDEN,
            format!("origin {text} is not allowed"),
        ))
    }
}

/// The answer to an `OPTIONS` preflight: the methods a call uses, and the
/// headers the browser asks for (a hook may read one of its own).
pub(super) fn preflight<B>(request: &h::Request<B>) -> h::Response<HttpBody> {
    let mut response = h::Response::new(empty());
    *response.status_mut() = h::StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        "access-control-allow-methods",
        h::HeaderValue::from_static("POST, OPTIONS"),
    );
    let asked = request
        .headers()
        .get("access-control-request-headers")
        .cloned()
        .unwrap_or_else(|| {
            h::HeaderValue::from_static("content-type, accept, last-event-id, authorization")
        });
    headers.insert("access-control-allow-headers", asked);
    headers.insert("access-control-max-age", h::HeaderValue::from_static("600"));
    headers.insert(
        h::header::ALLOW,
        h::HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    response
}

/// Lets a browser on `origin` read the response.
pub(super) fn allow(response: &mut h::Response<HttpBody>, origin: Option<h::HeaderValue>) {
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert("access-control-allow-origin", origin);
        headers.insert(h::header::VARY, h::HeaderValue::from_static("Origin"));
    }
}
