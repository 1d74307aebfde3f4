//! The `wirecall` command against the example servers, each run as its own
//! process the way a user would start them: examples/spec and the
//! chat. Discovery, a method's help, calls whose `key=value` arguments the
//! server's document converts, `--raw`, a batch from a file, subscriptions
//! (and Ctrl-C, which the chat's own metrics see as an unsubscribe), and
//! typed errors.

#[path = "../../tests/common/process.rs"]
mod process;
#[path = "../../examples/spec/service.rs"]
#[allow(dead_code)] // the example's own entry points are not used here
mod service;

use std::process::Output;
use std::time::Duration;

use process::{http_get, Running};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use wirecall::openrpc::Document;

async fn run(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wirecall"));
    command.args(args).kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .expect("wirecall finished within 30 s")
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// Runs `args` and expects exit 0; its stdout.
async fn ok(args: &[&str]) -> String {
    let out = run(args).await;
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

async fn spec_server() -> (Running, String) {
    let mut server = Running::start("spec_server", &["--listen", "127.0.0.1:0"]);
    let url = format!("ws://{}/", server.listening_addr().await);
    (server, url)
}

/// The chat, its WebSocket URL, and its HTTP address (for `/metrics`).
async fn chat() -> (Running, String, String) {
    let mut server = Running::start("chat", &["--listen", "127.0.0.1:0"]);
    let addr = server.listening_addr().await;
    (server, format!("ws://{addr}/rpc"), addr)
}

#[tokio::test]
async fn discover_and_call_the_spec_server() {
    let (_server, url) = spec_server().await;

    let listing = ok(&["discover", &url]).await;
    assert!(listing.starts_with("Spec "), "{listing}");
    for line in [
        "subtract(minuend: integer, subtrahend: integer) -> integer",
        "sum(a: integer, b?: integer or null, c?: integer or null) -> integer",
        "notify_hello(n: integer)  (notification)",
        "subscribe_counter(n: integer) -> items of integer as `counter`, ended by `unsubscribe_counter`",
        "    Pushes the integers `0..n` as `counter` notifications, then ends.",
        // A method's typed errors are listed with it.
        "divide(dividend: integer, divisor: integer) -> integer",
        "    errors: 1001 division by zero",
    ] {
        assert!(listing.lines().any(|l| l == line), "{line:?} in\n{listing}");
    }
    // The document itself, exactly what the service writes.
    let json = ok(&["discover", &url, "--json"]).await;
    let served: Document = serde_json::from_str(&json).unwrap();
    assert_eq!(served, service::spec_openrpc());

    let help = ok(&["call", &url, "sum", "--help"]).await;
    assert!(help.starts_with("sum(a: integer"), "{help}");
    assert!(
        help.contains("`a + b + c`; `b` and `c` may be left out."),
        "{help}"
    );
    assert!(
        help.lines().any(|l| l
            .split_whitespace()
            .eq(["b", "integer", "or", "null", "optional"])),
        "{help}"
    );

    // Text by name becomes the integers the document asks for.
    assert_eq!(
        ok(&["call", &url, "subtract", "minuend=42", "subtrahend=23"]).await,
        "19"
    );
    assert_eq!(ok(&["call", &url, "subtract", "-5", "3"]).await, "-8");
    assert_eq!(ok(&["call", &url, "sum", "a=1", "c=4"]).await, "5");
    assert_eq!(
        ok(&["call", &url, "subtract", "42", "23", "--raw"]).await,
        r#"{"jsonrpc":"2.0","id":1,"result":19}"#
    );
    // Unchecked, so the server's own error frame comes back.
    let raw_error = run(&["call", &url, "subtract", "1", "--raw", "--no-discover"]).await;
    assert_eq!(raw_error.status.code(), Some(5));
    let frame: Value = serde_json::from_str(&stdout(&raw_error)).unwrap();
    assert_eq!(frame["error"]["code"], -32602, "{frame}");

    let unknown = run(&["call", &url, "substract", "1", "2"]).await;
    // The document's hint, then the server's own answer.
    assert_eq!(unknown.status.code(), Some(5));
    let said = stderr(&unknown);
    assert!(
        said.starts_with(
            "wirecall: the server's document lists no method `substract`; did you mean `subtract`?"
        ),
        "{said}"
    );
    assert!(said.contains("error -32601"), "{said}");

    let items = ok(&[
        "subscribe",
        &url,
        "subscribe_counter",
        "n=5",
        "--count",
        "3",
    ])
    .await;
    assert_eq!(items, "0\n1\n2");

    // The batch file README's quick start sends.
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/spec/calls.json");
    let answers = ok(&["batch", &url, "-f", file]).await;
    let raw = ok(&["batch", &url, "-f", file, "--raw"]).await;
    assert_eq!(
        answers,
        r#"[{"id":1,"result":7},{"id":2,"result":19},{"id":"last","result":["hello",5]}]"#
    );
    // The server's own frame: its three answers, in whatever order it sent them.
    let frame: Vec<Value> = serde_json::from_str(&raw).unwrap();
    assert_eq!(frame.len(), 3, "{raw}");
    assert!(
        frame.iter().all(|answer| answer["jsonrpc"] == "2.0"),
        "{raw}"
    );
}

#[tokio::test]
async fn discover_call_and_subscribe_to_the_chat() {
    let (_server, url, addr) = chat().await;

    let listing = ok(&["discover", &url]).await;
    assert!(listing.starts_with("Chat "), "{listing}");
    assert!(
        listing.lines().any(|l| l
            == "chat_subscribe(room: string) -> items of RoomEvent as `chat_event`, ended by `chat_unsubscribe`"),
        "{listing}"
    );
    let help = ok(&["call", &url, "chat_send", "--help"]).await;
    assert!(
        help.lines().any(|l| l
            .split_whitespace()
            .eq(["1001", "join", "the", "room", "first"])),
        "the typed errors are listed: {help}"
    );

    assert_eq!(ok(&["call", &url, "chat_users", "room=lobby"]).await, "[]");
    assert_eq!(
        ok(&["call", &url, "chat_join", "room=lobby", "name=ada"]).await,
        r#"["ada"]"#
    );
    // Each command is its own connection, so this one has not joined: the
    // chat's typed error, as the error object a plain client sees.
    let refused = run(&["call", &url, "chat_send", "room=lobby", "text=hi"]).await;
    assert_eq!(refused.status.code(), Some(5));
    assert_eq!(stderr(&refused), "error 1001: join the room first");

    // A subscriber sees someone join; Ctrl-C then ends its subscription,
    // and the chat counts the unsubscribe call.
    let mut subscriber = Command::new(env!("CARGO_BIN_EXE_wirecall"));
    subscriber
        .args(["subscribe", &url, "chat_subscribe", "room=lobby"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut subscriber = subscriber.spawn().unwrap();
    let mut lines = BufReader::new(subscriber.stdout.take().unwrap()).lines();
    let (first_tx, mut first) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = first_tx.send(lines.next_line().await.unwrap());
        // Keep reading so the process never blocks on a full pipe.
        while let Ok(Some(_)) = lines.next_line().await {}
    });
    let mut attempt = 0;
    let first = loop {
        if let Ok(line) = first.try_recv() {
            break line.expect("an event line");
        }
        attempt += 1;
        assert!(attempt < 100, "the subscriber saw no event");
        ok(&[
            "call",
            &url,
            "chat_join",
            "room=lobby",
            &format!("name=bob{attempt}"),
        ])
        .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let event: Value = serde_json::from_str(&first).unwrap();
    assert!(
        ["joined", "left"].contains(&event["kind"].as_str().unwrap()),
        "{event}"
    );
    let pid = subscriber.id().unwrap().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(signalled.success());
    let status = tokio::time::timeout(Duration::from_secs(10), subscriber.wait())
        .await
        .expect("wirecall exited after Ctrl-C")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let page = http_get(&addr, "/metrics").await;
    let unsubscribes = page
        .lines()
        .find(|l| {
            l.starts_with("wirecall_calls_total{")
                && l.contains(r#"method="chat_unsubscribe""#)
                && l.contains(r#"outcome="ok""#)
        })
        .unwrap_or_else(|| panic!("no chat_unsubscribe call in\n{page}"));
    assert!(unsubscribes.ends_with(" 1"), "{unsubscribes}");
}
