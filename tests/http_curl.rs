//! Plain HTTP on the WebSocket port, from outside: `curl` against the spec
//! server for a call, a batch, a notification (204), the refusals (405,
//! 415, 413), a CORS preflight, and a subscription read as Server-Sent
//! Events with `curl -N`.

#[path = "common/curl.rs"]
mod curl;
#[path = "common/process.rs"]
mod process;

use std::process::{Command, Output};

use process::Running;

/// Runs curl with `args` (at most 20 s), printing the status line and
/// headers before the body (`-i`).
fn curl(args: &[&str]) -> String {
    curl_exited(args).0
}

/// As [`curl`], with whether curl finished cleanly (a stream that does not
/// end runs into the time limit, and curl exits with 28).
fn curl_exited(args: &[&str]) -> (String, bool) {
    let output: Output = Command::new("curl")
        .args(["-s", "-i", "--max-time", "20"])
        .args(args)
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).replace("\r\n", "\n");
    (text, output.status.success())
}

/// Posts `call` asking for an event stream, and reads it to its end.
fn read_events(url: &str, call: &str) -> (String, bool) {
    curl_exited(&[
        "-N",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-H",
        "Accept: text/event-stream",
        "--data-binary",
        call,
        url,
    ])
}

fn status(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"))
}

fn body(response: &str) -> &str {
    response.split_once("\n\n").map_or("", |(_, body)| body)
}

fn post(url: &str, json: &str) -> String {
    curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        json,
        url,
    ])
}

async fn spec_server() -> (Running, String) {
    let mut server = Running::start("spec_server", &["--listen", "127.0.0.1:0"]);
    let url = format!("http://{}/", server.listening_addr().await);
    (server, url)
}

#[tokio::test]
async fn curl_calls_batches_and_notifies_over_http() {
    if !curl::available() {
        return;
    }
    let (_server, url) = spec_server().await;

    let call = post(
        &url,
        r#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#,
    );
    assert_eq!(status(&call), 200, "{call}");
    assert!(call.contains("content-type: application/json"), "{call}");
    let answer: serde_json::Value = serde_json::from_str(body(&call)).unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"jsonrpc": "2.0", "result": 19, "id": 1})
    );

    let batch = post(
        &url,
        r#"[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method":"notify_hello","params":[7]},{"jsonrpc":"2.0","method":"nope","id":"5"}]"#,
    );
    assert_eq!(status(&batch), 200, "{batch}");
    let answers: serde_json::Value = serde_json::from_str(body(&batch)).unwrap();
    assert_eq!(answers.as_array().unwrap().len(), 2, "{batch}");
    assert_eq!(answers[0]["result"], 7);
    assert_eq!(answers[1]["error"]["code"], -32601);

    let notification = post(
        &url,
        r#"{"jsonrpc":"2.0","method":"notify_hello","params":[7]}"#,
    );
    assert_eq!(status(&notification), 204, "{notification}");
    assert!(body(&notification).is_empty(), "{notification}");

    // JSON-RPC errors travel inside a 200, as the spec gives them.
    let broken = post(
        &url,
        r#"{"jsonrpc":"2.0","method":"foobar,"params":"bar","baz]"#,
    );
    assert_eq!(status(&broken), 200, "{broken}");
    assert!(body(&broken).contains("-32700"), "{broken}");

    // A charset parameter is fine.
    let charset = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json; charset=utf-8",
        "--data-binary",
        r#"{"jsonrpc":"2.0","method":"get_data","id":9}"#,
        &url,
    ]);
    assert_eq!(status(&charset), 200, "{charset}");

    // Calls from the server to the client cannot travel over plain HTTP.
    let asks = post(
        &url,
        r#"{"jsonrpc":"2.0","method":"ask_client","params":["ready?"],"id":3}"#,
    );
    assert_eq!(status(&asks), 200, "{asks}");
    assert!(body(&asks).contains("\"error\""), "{asks}");
}

#[tokio::test]
async fn curl_gets_http_refusals_and_cors() {
    if !curl::available() {
        return;
    }
    let (_server, url) = spec_server().await;

    let get = curl(&[&url]);
    assert_eq!(status(&get), 405, "{get}");
    assert!(get.contains("allow: GET, POST, OPTIONS"), "{get}");

    let text = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: text/plain",
        "--data-binary",
        "{}",
        &url,
    ]);
    assert_eq!(status(&text), 415, "{text}");

    // Over the 10 MiB limit by its length: refused before it is read.
    let big = std::env::temp_dir().join(format!("wirecall-big-{}", std::process::id()));
    std::fs::write(&big, vec![b' '; 11 << 20]).unwrap();
    let too_large = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &format!("@{}", big.display()),
        &url,
    ]);
    std::fs::remove_file(&big).unwrap();
    assert_eq!(status(&too_large), 413, "{too_large}");

    let preflight = curl(&[
        "-X",
        "OPTIONS",
        "-H",
        "Origin: http://app.example",
        "-H",
        "Access-Control-Request-Method: POST",
        "-H",
        "Access-Control-Request-Headers: content-type",
        &url,
    ]);
    assert_eq!(status(&preflight), 204, "{preflight}");
    assert!(
        preflight.contains("access-control-allow-origin: http://app.example"),
        "{preflight}"
    );
    assert!(
        preflight.contains("access-control-allow-methods: POST"),
        "{preflight}"
    );
    let from_page = curl(&[
        "-X",
        "POST",
        "-H",
        "Origin: http://app.example",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        r#"{"jsonrpc":"2.0","method":"subtract","params":[1,1],"id":1}"#,
        &url,
    ]);
    assert!(
        from_page.contains("access-control-allow-origin: http://app.example"),
        "{from_page}"
    );
}

#[tokio::test]
async fn curl_reads_a_subscription_as_server_sent_events() {
    if !curl::available() {
        return;
    }
    let (_server, url) = spec_server().await;
    let (events, ended) = read_events(
        &url,
        r#"{"jsonrpc":"2.0","method":"subscribe_counter","params":[3],"id":1}"#,
    );
    assert_eq!(status(&events), 200, "{events}");
    assert!(
        events.contains("content-type: text/event-stream"),
        "{events}"
    );
    let data: Vec<serde_json::Value> = body(&events)
        .lines()
        .filter_map(|line| line.strip_prefix("data: "))
        .map(|json| serde_json::from_str(json).unwrap())
        .collect();
    // The answer, three items, and the end: then the stream closes.
    assert_eq!(data.len(), 5, "{events}");
    assert!(data[0]["result"].is_string(), "{events}");
    for (n, item) in data[1..4].iter().enumerate() {
        assert_eq!(item["params"]["result"], n, "{events}");
    }
    assert_eq!(data[4]["params"]["ended"], true, "{events}");
    assert!(
        ended,
        "the stream did not end after its end notice: {events}"
    );

    // A handler that calls the client during an event-stream call is
    // answered -32601 at once, and the stream ends with its answer.
    let (asked, ended) = read_events(
        &url,
        r#"{"jsonrpc":"2.0","method":"ask_client","params":["ready?"],"id":2}"#,
    );
    assert!(ended, "{asked}");
    let answer: serde_json::Value = serde_json::from_str(
        body(&asked)
            .lines()
            .find_map(|line| line.strip_prefix("data: "))
            .expect("an answer event"),
    )
    .unwrap();
    assert_eq!(answer["id"], 2, "{asked}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not possible over HTTP")),
        "{asked}"
    );
}
