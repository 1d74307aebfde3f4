//! A client that knows nothing of wirecall — Python's `websockets`, JSON by
//! hand — subscribes to a topic-fed subscription and reads its items: each
//! frame is the usual subscription notification, with the position as one
//! extra member beside `subscription` and `result`, and nothing else.
//!
//! Needs `python3` with the `websockets` package. Without it the test prints
//! a one-line "skipped" notice, except under CI (`CI=true`), where it is a
//! failure (.ci/run installs it).

#[path = "common/topics.rs"]
mod topics;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use wirecall::bus::{self, InProcessBus};
use wirecall::{Router, Server};

/// Subscribes to `follow`, says so, prints the next three frames as they
/// came, then resumes after the first item's position with `rpc.resume`
/// and prints what that brings.
const SCRIPT: &str = r#"
import asyncio, json, sys
import websockets

async def main(url):
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "follow"}))
        print("answer", await ws.recv(), flush=True)
        first = None
        for _ in range(3):
            frame = await ws.recv()
            print("frame", frame, flush=True)
            first = first or json.loads(frame)["params"]["position"]
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "rpc.resume",
                                  "params": {"method": "follow", **first}}))
        print("answer", await ws.recv(), flush=True)
        for _ in range(3):
            print("resumed", await ws.recv(), flush=True)

asyncio.run(main(sys.argv[1]))
"#;

fn python_with_websockets() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import websockets"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

fn router(bus: Arc<InProcessBus>) -> Router {
    let mut router = Router::new();
    topics::follow_numbers(&mut router, bus);
    router
}

#[tokio::test]
async fn a_plain_python_client_reads_items_with_only_an_extra_member() {
    if !python_with_websockets() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 with websockets must be installed under CI (.ci/run installs it)"
        );
        println!("skipped: python3 with the websockets package is not installed (pip install websockets)");
        return;
    }
    let bus = Arc::new(InProcessBus::default());
    let server = Server::builder()
        .build(router(bus.clone()))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut child = tokio::process::Command::new("python3")
        .args(["-c", SCRIPT, &format!("ws://{}/", server.local_addr())])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("python answered in time")
            .unwrap()
            .expect("python printed a line")
    };

    let answer = next_line().await;
    assert_eq!(answer, r#"answer {"jsonrpc":"2.0","id":1,"result":"1"}"#);
    for n in [7u64, 8, 9] {
        bus::publish(&*bus, "numbers", &n).await.unwrap();
    }
    let mut epoch = String::new();
    for (offset, n) in [(1, 7), (2, 8), (3, 9)] {
        let line = next_line().await;
        let frame = line.strip_prefix("frame ").expect("a frame");
        let value: serde_json::Value = serde_json::from_str(frame).unwrap();
        epoch = value["params"]["position"]["epoch"]
            .as_str()
            .unwrap()
            .to_owned();
        // Byte for byte: the plain notification, then one extra member.
        let expected = format!(
            r#"{{"jsonrpc":"2.0","method":"number","params":{{"subscription":"1","result":{n},"position":{{"epoch":"{epoch}","offset":{offset}}}}}}}"#
        );
        assert_eq!(frame, expected);
    }

    // The same plain client resumes after item 1: items 2 and 3 follow, once.
    let answer = next_line().await;
    assert_eq!(answer, r#"answer {"jsonrpc":"2.0","id":2,"result":"1"}"#);
    assert_eq!(
        next_line().await,
        r#"resumed {"jsonrpc":"2.0","method":"number","params":{"subscription":"1","resumed":{"missed":0}}}"#
    );
    for (offset, n) in [(2, 8), (3, 9)] {
        assert_eq!(
            next_line().await,
            format!(
                r#"resumed {{"jsonrpc":"2.0","method":"number","params":{{"subscription":"1","result":{n},"position":{{"epoch":"{epoch}","offset":{offset}}}}}}}"#
            )
        );
    }
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("python exits")
        .unwrap();
    assert!(status.success());
}
