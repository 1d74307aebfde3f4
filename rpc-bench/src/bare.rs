//! One bare WebSocket client for every server, so these rows compare
//! servers: the same request bytes go to each, and every answer and item is
//! checked. A wrong or missing answer fails the run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{Notify, Semaphore};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::frames::{self, Pushed};
use crate::measure::{self, Outcome};
use crate::servers::Kind;

pub(crate) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long the bare client waits for any one answer before failing the run.
const ANSWER_WITHIN: Duration = Duration::from_secs(20);

/// A 4 KiB read buffer and no write buffer, as the echo server has.
pub(crate) fn small_buffers() -> WebSocketConfig {
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = 4096;
    config.write_buffer_size = 0;
    config
}

pub(crate) async fn connect(url: &str) -> Result<Socket, String> {
    tokio_tungstenite::connect_async_with_config(url, Some(small_buffers()), true)
        .await
        .map(|(socket, _)| socket)
        .map_err(|err| format!("could not connect to {url}: {err}"))
}

/// The next text frame, or why there is none.
pub(crate) async fn next_text(stream: &mut SplitStream<Socket>) -> Result<String, String> {
    loop {
        match tokio::time::timeout(ANSWER_WITHIN, stream.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => return Ok(text.as_str().to_owned()),
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => return Err(format!("the connection ended: {other:?}")),
            Err(_) => return Err(format!("nothing came within {ANSWER_WITHIN:?}")),
        }
    }
}

pub(crate) async fn send(
    sink: &mut SplitSink<Socket, Message>,
    frame: String,
) -> Result<(), String> {
    sink.send(Message::text(frame))
        .await
        .map_err(|err| format!("send failed: {err}"))
}

/// `add` `total` times over `conns` connections with `in_flight` outstanding
/// on each; `batch` > 1 sends batches of that many calls.
pub(crate) async fn calls(
    kind: Kind,
    url: &str,
    conns: usize,
    in_flight: usize,
    total: u64,
    batch: u64,
) -> Result<Outcome, String> {
    let per_conn = total / conns as u64;
    let started = Instant::now();
    let tasks: Vec<_> = (0..conns as u64)
        .map(|n| {
            let url = url.to_owned();
            // Ids never repeat within a run, across connections either.
            let first_id = 1 + n * per_conn * batch;
            tokio::spawn(async move {
                pipeline(
                    &url,
                    kind == Kind::Raw,
                    first_id,
                    in_flight,
                    per_conn,
                    batch,
                )
                .await
            })
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

/// `count` frames on one socket, `in_flight` outstanding; each answer is
/// matched to its call by id, whatever order they come in.
async fn pipeline(
    url: &str,
    echo: bool,
    first_id: u64,
    in_flight: usize,
    count: u64,
    batch: u64,
) -> Result<Vec<Duration>, String> {
    let (mut sink, mut stream) = connect(url).await?.split();
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let permits = Arc::new(Semaphore::new(in_flight));
    let writer = {
        let (sent, permits) = (sent.clone(), permits.clone());
        tokio::spawn(async move {
            for n in 0..count {
                permits.acquire().await.expect("never closed").forget();
                let id = first_id + n * batch;
                let frame = if batch > 1 {
                    frames::add_batch(id, batch)
                } else {
                    frames::add(id)
                };
                sent.lock().expect("lock").insert(id, Instant::now());
                send(&mut sink, frame).await?;
            }
            Ok::<_, String>(sink)
        })
    };
    let mut latencies = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for _ in 0..count {
        let frame = next_text(&mut stream).await?;
        let id = if batch > 1 {
            frames::check_add_batch(&frame, batch, echo)?
        } else {
            frames::check_add(&frame, echo)?
        };
        let sent_at = sent
            .lock()
            .expect("lock")
            .remove(&id)
            .ok_or(format!("an answer {id} to no call in flight"))?;
        latencies.push(sent_at.elapsed());
        permits.add_permits(1);
    }
    drop(writer.await.map_err(|err| err.to_string())??);
    Ok(latencies)
}

/// Subscribes and checks the answer to the subscribe call `id`.
async fn subscribe(
    socket: &mut (SplitSink<Socket, Message>, SplitStream<Socket>),
    id: u64,
    method: &str,
    params: &str,
) -> Result<(), String> {
    send(&mut socket.0, frames::call(id, method, params)).await?;
    match frames::pushed(&next_text(&mut socket.1).await?)? {
        Pushed::Answer { id: got, ok: true } if got == id => Ok(()),
        other => Err(format!("{method} was answered with {other:?}")),
    }
}

/// One subscriber receives `count` numbered items pushed as fast as the
/// server can. Items must come in order; a lag notice accounts for what it
/// names, and anything missing without one is reported as silently lost.
pub(crate) async fn subscription(url: &str, count: u64) -> Result<Outcome, String> {
    let mut socket = connect(url).await?.split();
    let started = Instant::now();
    subscribe(&mut socket, 1, "subscribe_items", &format!("[{count}]")).await?;
    let (mut next, mut received, mut reported, mut silent) = (0u64, 0u64, 0u64, 0u64);
    let mut last = started;
    let mut ending = String::new();
    while next < count {
        let frame = match tokio::time::timeout(Duration::from_secs(3), socket.1.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(other) => return Err(format!("the subscription's connection ended: {other:?}")),
            Err(_) => {
                ending = "no item for 3 s; ".into();
                break;
            }
        };
        match frames::pushed(frame.as_str())? {
            Pushed::Item(n) if n >= next => {
                silent += n - next;
                received += 1;
                next = n + 1;
                last = Instant::now();
            }
            Pushed::Item(n) => return Err(format!("item {n} came again or out of order")),
            Pushed::Lagged(n) => {
                reported += n;
                next += n;
            }
            Pushed::Answer { .. } => return Err("an answer to no call".into()),
            Pushed::Other(frame) => {
                ending = format!("ended by the server: {frame}; ");
                break;
            }
        }
    }
    silent += count - next;
    Ok(Outcome {
        ops: received,
        elapsed: last - started,
        note: format!(
            "{ending}received {received}, reported lagged {reported}, silently lost {silent}"
        ),
        figure: Some(silent as f64),
        ..Outcome::default()
    })
}

/// `subs_per_conn` subscriptions on each of `conns` connections, then one
/// publish; the time until every subscription has the item.
pub(crate) async fn fan_out(
    url: &str,
    conns: usize,
    subs_per_conn: usize,
) -> Result<Outcome, String> {
    let total = conns * subs_per_conn;
    let arrived = Arc::new(AtomicUsize::new(0));
    let all = Arc::new(Notify::new());
    let mut readers = Vec::with_capacity(conns);
    for _ in 0..conns {
        let mut socket = connect(url).await?.split();
        for id in 1..=subs_per_conn as u64 {
            subscribe(&mut socket, id, "subscribe_topic", "[]").await?;
        }
        let (arrived, all) = (arrived.clone(), all.clone());
        readers.push(tokio::spawn(async move {
            let (_sink, mut stream) = socket;
            for _ in 0..subs_per_conn {
                match frames::pushed(&next_text(&mut stream).await?)? {
                    Pushed::Item(7) => {}
                    other => return Err(format!("a subscriber got {other:?}, not the item 7")),
                }
            }
            if arrived.fetch_add(subs_per_conn, Ordering::AcqRel) + subs_per_conn == total {
                all.notify_one();
            }
            // Stays open until the run ends, as a subscriber would.
            std::future::pending::<Result<(), String>>().await
        }));
    }
    let (mut sink, mut stream) = connect(url).await?.split();
    let started = Instant::now();
    send(&mut sink, frames::call(1, "publish", "[7]")).await?;
    let answer = frames::pushed(&next_text(&mut stream).await?)?;
    if answer != (Pushed::Answer { id: 1, ok: true }) {
        return Err(format!("publish was answered with {answer:?}"));
    }
    let done = tokio::time::timeout(Duration::from_secs(60), all.notified()).await;
    let elapsed = started.elapsed();
    let mut failure = None;
    for reader in readers {
        if reader.is_finished() {
            failure = failure.or(reader.await.map_err(|err| err.to_string())?.err());
        } else {
            reader.abort();
        }
    }
    if let Some(failure) = failure {
        return Err(failure);
    }
    let got = arrived.load(Ordering::Acquire);
    measure::fan_out_outcome(got, total, elapsed, done.is_ok())
}
