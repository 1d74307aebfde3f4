//! A connection streaming subscription items at full speed still reads what
//! its peer sends: an unsubscribe is answered, a close frame gets its reply,
//! and pipelined subscribe calls run until the limit and then get its error.
//! Raw sockets stand in for the client so nothing on our side helps.

#[path = "common/server.rs"]
mod server;

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits for an answer before calling it lost. The answer
/// is due after one outbound batch; the margin only absorbs a loaded machine.
const PATIENCE: Duration = Duration::from_secs(10);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw_socket(url: &str) -> Socket {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

/// Reads frames as fast as they come until `wanted` accepts one; returns it
/// with the number of frames read on the way.
async fn read_until(
    socket: &mut Socket,
    mut wanted: impl FnMut(&Message) -> bool,
) -> (Message, usize) {
    let mut skipped = 0;
    let deadline = Instant::now() + PATIENCE;
    loop {
        // Checked by hand: a timeout around a read that is always ready never fires.
        let left = deadline.checked_duration_since(Instant::now());
        let left =
            left.unwrap_or_else(|| panic!("nothing wanted after {skipped} frames in {PATIENCE:?}"));
        let next = tokio::time::timeout(left, socket.next())
            .await
            .unwrap_or_else(|_| panic!("nothing wanted after {skipped} frames in {PATIENCE:?}"));
        let message = next.expect("socket ended").expect("read failed");
        if wanted(&message) {
            return (message, skipped);
        }
        skipped += 1;
    }
}

fn answer_id(message: &Message) -> Option<u64> {
    let Message::Text(text) = message else {
        return None;
    };
    // Items are notifications; only answers carry an id.
    if !text.as_str().contains("\"id\"") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
    value["id"].as_u64()
}

/// Opens four endless counting subscriptions and returns their ids once
/// items are flowing.
async fn four_firehoses(socket: &mut Socket) -> Vec<serde_json::Value> {
    for id in 1..=4 {
        let call = format!(
            r#"{{"jsonrpc":"2.0","method":"subscribe_count","params":[{}],"id":{id}}}"#,
            u64::MAX
        );
        socket.send(Message::text(call)).await.unwrap();
    }
    let mut ids = Vec::new();
    while ids.len() < 4 {
        let (message, _) = read_until(socket, |m| answer_id(m).is_some()).await;
        let Message::Text(text) = message else {
            unreachable!()
        };
        let reply: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        ids.push(reply["result"].clone());
    }
    // Read a good run of items first, so the outbound queue is never empty.
    let mut items = 0;
    let (_, skipped) = read_until(socket, |_| {
        items += 1;
        items > 2_000
    })
    .await;
    assert_eq!(skipped, 2_000);
    ids
}

#[tokio::test]
async fn an_unsubscribe_is_answered_while_four_subscriptions_stream() {
    let (_server, url) = server::start_default().await;
    let mut socket = raw_socket(&url).await;
    let ids = four_firehoses(&mut socket).await;
    let unsubscribe = format!(
        r#"{{"jsonrpc":"2.0","method":"unsubscribe_count","params":[{}],"id":99}}"#,
        ids[0]
    );
    let sent = Instant::now();
    socket.send(Message::text(unsubscribe)).await.unwrap();
    let (answer, skipped) = read_until(&mut socket, |m| answer_id(m) == Some(99)).await;
    let Message::Text(text) = answer else {
        unreachable!()
    };
    let reply: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
    assert_eq!(reply["result"], true, "{reply}");
    println!(
        "unsubscribe answered after {:?} and {skipped} frames",
        sent.elapsed()
    );
}

#[tokio::test]
async fn a_close_frame_gets_its_reply_while_four_subscriptions_stream() {
    let (handle, url) = server::start_default().await;
    let mut socket = raw_socket(&url).await;
    four_firehoses(&mut socket).await;
    let sent = Instant::now();
    socket.close(None).await.unwrap();
    let (_, skipped) = read_until(&mut socket, |m| matches!(m, Message::Close(_))).await;
    println!(
        "close answered after {:?} and {skipped} frames",
        sent.elapsed()
    );
    let deadline = Instant::now() + PATIENCE;
    while handle.server().connection_count() > 0 {
        assert!(Instant::now() < deadline, "the connection never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn pipelined_subscribes_run_to_the_limit_then_get_its_error() {
    const CALLS: u64 = 10_000;
    // A limit above the 64 frames one read turn takes, and low enough that
    // the accepted firehoses do not drown a debug build on a busy machine.
    let limit = 200;
    let (_server, url) = server::start(wirecall::Server::builder().max_subscriptions(limit)).await;
    let socket = raw_socket(&url).await;
    let (mut sink, mut stream) = socket.split();
    let sender = tokio::spawn(async move {
        for id in 0..CALLS {
            let call = format!(
                r#"{{"jsonrpc":"2.0","method":"subscribe_count","params":[{}],"id":{id}}}"#,
                u64::MAX
            );
            sink.feed(Message::text(call)).await.unwrap();
        }
        sink.flush().await.unwrap();
        sink
    });
    let mut answered = vec![false; CALLS as usize];
    let (mut accepted, mut refused, mut answers) = (0, 0, 0);
    // Before turn-taking the server stopped reading for good; a slow
    // machine only needs longer.
    let deadline = Instant::now() + 3 * PATIENCE;
    while answers < CALLS {
        assert!(
            Instant::now() < deadline,
            "stalled after {answers} answers ({accepted} accepted)"
        );
        let next = tokio::time::timeout(PATIENCE, stream.next())
            .await
            .unwrap_or_else(|_| panic!("stalled after {answers} answers ({accepted} accepted)"));
        let Message::Text(text) = next.expect("socket ended").expect("read failed") else {
            continue;
        };
        if !text.as_str().contains("\"id\"") {
            continue;
        }
        let reply: serde_json::Value = serde_json::from_str(text.as_str()).unwrap();
        let id = reply["id"].as_u64().unwrap() as usize;
        assert!(!answered[id], "call {id} answered twice");
        answered[id] = true;
        answers += 1;
        if reply.get("result").is_some() {
            accepted += 1;
        } else {
            assert_eq!(reply["error"]["code"], -32002, "{reply}");
            refused += 1;
        }
    }
    assert_eq!(accepted, limit);
    assert_eq!(refused, CALLS as usize - limit);
    drop(sender.await.unwrap());
}

#[tokio::test]
async fn a_peer_that_does_not_read_still_stops_the_servers_reads() {
    const CALLS: usize = 2_000;
    let (handle, url) = server::start_default().await;
    let mut socket = raw_socket(&url).await;
    let firehose = format!(
        r#"{{"jsonrpc":"2.0","method":"subscribe_count","params":[{}],"id":0}}"#,
        u64::MAX
    );
    socket.send(Message::text(firehose)).await.unwrap();
    // 2 000 calls of 64 KiB each: far more than the kernel buffers between
    // the two ends hold, so the sender can only finish if the server reads
    // without bound.
    let call = format!(
        r#"{{"jsonrpc":"2.0","method":"echo","params":["{}"],"id":1}}"#,
        "x".repeat(64 << 10)
    );
    let mut sent = 0;
    while sent < CALLS {
        let sending = socket.send(Message::text(call.clone()));
        if tokio::time::timeout(Duration::from_millis(500), sending)
            .await
            .is_err()
        {
            break;
        }
        sent += 1;
    }
    assert!(
        sent < CALLS,
        "the server read {CALLS} calls it could not answer"
    );
    let capacity = wirecall::ConnectionConfig::default().outbound_capacity;
    for peer in handle.server().peers() {
        assert!(
            peer.queued_frames() <= capacity,
            "outbound queue over its bound"
        );
    }
    println!("the sender stalled after {sent} calls");
}
