//! Reading a request body within the server's limits: its size (refused
//! before it is read when its length says so) and the time it may take.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::{h, Refusal};

/// The whole body, or why it is refused: 413 past `max` bytes, 408 past
/// `timeout`, 400 when it cannot be read.
pub(super) async fn read(
    request: h::Request<Incoming>,
    max: usize,
    timeout: Duration,
) -> Result<Bytes, Refusal> {
    let declared = request
        .headers()
        .get(h::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > max as u64) {
        return Err(too_large(max));
    }
    let body = request.into_body();
    let collected = tokio::time::timeout(timeout, Limited::new(body, max).collect()).await;
    match collected {
        Ok(Ok(body)) => Ok(body.to_bytes()),
        Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => Err(too_large(max)),
        Ok(Err(err)) => Err(Refusal::new(
            h::StatusCode::BAD_REQUEST,
            format!("the body could not be read: {err}"),
        )),
        Err(_) => Err(Refusal::new(
            h::StatusCode::REQUEST_TIMEOUT,
            format!("the body did not arrive within {timeout:?}"),
        )),
    }
}

fn too_large(max: usize) -> Refusal {
    Refusal::new(
        h::StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body is over {max} bytes"),
    )
}
