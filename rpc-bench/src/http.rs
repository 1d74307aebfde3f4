//! One bare HTTP/1.1 client for every server that answers JSON-RPC over
//! `POST` (wirecall and jsonrpsee each serve it on their WebSocket port):
//! keep-alive connections, each posting one call (or one batch) at a time,
//! every answer checked as the WebSocket rows check theirs.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::frames;
use crate::measure::Outcome;

/// How long the client waits for any one answer before failing the run.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// `add` `total` times over `conns` keep-alive connections; `batch` > 1
/// posts batches of that many calls.
pub(crate) async fn calls(
    addr: std::net::SocketAddr,
    conns: usize,
    total: u64,
    batch: u64,
) -> Result<Outcome, String> {
    let per_conn = total / conns as u64;
    let started = Instant::now();
    let tasks: Vec<_> = (0..conns as u64)
        .map(|n| {
            let first_id = 1 + n * per_conn * batch;
            tokio::spawn(async move { keep_alive(addr, first_id, per_conn, batch).await })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|err| err.to_string())??);
    }
    Ok(Outcome {
        ops: per_conn * conns as u64 * batch,
        elapsed: started.elapsed(),
        latencies,
        ..Outcome::default()
    })
}

/// `count` posts, one after another, on one connection.
async fn keep_alive(
    addr: std::net::SocketAddr,
    first_id: u64,
    count: u64,
    batch: u64,
) -> Result<Vec<Duration>, String> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|err| format!("could not connect to {addr}: {err}"))?;
    stream.set_nodelay(true).map_err(|err| err.to_string())?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| format!("HTTP/1.1 did not start: {err}"))?;
    let driver = tokio::spawn(connection);
    let host = addr.to_string();
    let mut latencies = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for n in 0..count {
        let id = first_id + n * batch;
        let frame = if batch > 1 {
            frames::add_batch(id, batch)
        } else {
            frames::add(id)
        };
        let request = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(HOST, &host)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(frame)))
            .map_err(|err| err.to_string())?;
        let sent_at = Instant::now();
        let answer = tokio::time::timeout(ANSWER_WITHIN, async {
            sender
                .ready()
                .await
                .map_err(|err| format!("the connection closed: {err}"))?;
            let response = sender
                .send_request(request)
                .await
                .map_err(|err| format!("the post failed: {err}"))?;
            if !response.status().is_success() {
                return Err(format!("the post was answered {}", response.status()));
            }
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|err| format!("the answer broke off: {err}"))?;
            String::from_utf8(body.to_bytes().into())
                .map_err(|_| "an answer that is not UTF-8".to_owned())
        })
        .await
        .map_err(|_| format!("no answer within {ANSWER_WITHIN:?}"))??;
        let got = if batch > 1 {
            frames::check_add_batch(&answer, batch, false)?
        } else {
            frames::check_add(&answer, false)?
        };
        if got != id {
            return Err(format!("call {id} was answered as {got}"));
        }
        latencies.push(sent_at.elapsed());
    }
    drop(sender);
    let _ = driver.await;
    Ok(latencies)
}
