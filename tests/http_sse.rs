//! A subscription over Server-Sent Events through a proxy that cuts every
//! link ten times: each time the client (curl) reconnects with
//! `Last-Event-ID`, and every one of 10 000 items arrives exactly once, in
//! order, each resume saying nothing was missed.

#[path = "common/curl.rs"]
mod curl;
#[path = "common/proxy.rs"]
mod proxy;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use proxy::Proxy;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use wirecall::bus::{self, InProcessBus, TopicMethods};
use wirecall::{Router, Server};

const ITEMS: u64 = 10_000;
const CUTS: u64 = 10;

/// What one curl run read before its link was cut or the items ran out.
struct Segment {
    items: Vec<u64>,
    cut: bool,
    last_id: Option<String>,
    resumes: Vec<serde_json::Value>,
}

/// Reads the stream once through `url`, from `last_id` if given; cuts the
/// link through `proxy` after `cut_after` items.
async fn read_segment(
    url: &str,
    last_id: Option<&str>,
    proxy: &Proxy,
    cut_after: usize,
) -> Segment {
    let call = r#"{"jsonrpc":"2.0","method":"follow","id":1}"#;
    let mut command = Command::new("curl");
    command
        .args(["-s", "-N", "--max-time", "60", "-X", "POST"])
        .args(["-H", "Content-Type: application/json"])
        .args(["-H", "Accept: text/event-stream"])
        .args(["--data-binary", call]);
    if let Some(id) = last_id {
        command.args(["-H", &format!("Last-Event-ID: {id}")]);
    }
    let mut child = command
        .arg(url)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("curl runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut segment = Segment {
        items: Vec::new(),
        cut: false,
        last_id: last_id.map(str::to_owned),
        resumes: Vec::new(),
    };
    let mut pending_id = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(id) = line.strip_prefix("id: ") {
            pending_id = Some(id.to_owned());
        } else if let Some(data) = line.strip_prefix("data: ") {
            let frame: serde_json::Value = serde_json::from_str(data).unwrap();
            let params = &frame["params"];
            if let Some(n) = params["result"].as_u64() {
                segment.items.push(n);
                segment.last_id = pending_id.take();
                if n + 1 == ITEMS {
                    break;
                }
                if !segment.cut && segment.items.len() >= cut_after {
                    proxy.cut();
                    segment.cut = true;
                }
            } else if !params["resumed"].is_null() {
                segment.resumes.push(params["resumed"].clone());
            }
        }
    }
    let _ = child.kill().await;
    segment
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_items_over_sse_through_ten_cuts_arrive_once_in_order() {
    if !curl::available() {
        return;
    }
    let topic = Arc::new(InProcessBus::default().with_history(20_000, Duration::from_secs(600)));
    let mut router = Router::new();
    let methods = TopicMethods {
        subscribe: "follow",
        notification: "item",
        unsubscribe: "unfollow",
    };
    bus::serve_topic(&mut router, methods, topic.clone(), |_| {
        Ok("numbers".to_owned())
    })
    .unwrap();
    let server = Server::builder()
        .build(router)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let proxy = Proxy::start(server.local_addr()).await;
    let url = proxy.url().replace("ws://", "http://");

    // The stream starts after a first item, so every counted item is due.
    let start = bus::publish(&*topic, "numbers", &"start").await.unwrap();
    // Items go out steadily while the client reads, is cut and resumes.
    let publisher = tokio::spawn(async move {
        for n in 0..ITEMS {
            bus::publish(&*topic, "numbers", &n).await.unwrap();
            if n % 10 == 9 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });

    let mut items = Vec::new();
    let mut last_id = Some(format!("{}:{}", start.epoch, start.offset));
    let mut resumes = Vec::new();
    let mut segments = 0;
    let mut cuts = 0;
    while items.last().is_none_or(|n| n + 1 < ITEMS) {
        segments += 1;
        assert!(segments <= CUTS + 5, "too many segments: {segments}");
        let cut_after = if cuts < CUTS { 500 } else { usize::MAX };
        let segment = read_segment(&url, last_id.as_deref(), &proxy, cut_after).await;
        cuts += u64::from(segment.cut);
        items.extend(segment.items);
        resumes.extend(segment.resumes);
        last_id = segment.last_id;
        assert!(last_id.is_some(), "no item arrived in segment {segments}");
    }
    publisher.await.unwrap();
    assert_eq!(cuts, CUTS, "{segments} segments");
    assert_eq!(
        items,
        (0..ITEMS).collect::<Vec<_>>(),
        "every item once, in order"
    );
    // Each connection resumed with nothing missed.
    assert_eq!(resumes.len() as u64, segments, "{resumes:?}");
    for resume in &resumes {
        assert_eq!(resume, &serde_json::json!({ "missed": 0 }), "{resumes:?}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_its_client_stops_reading_ends_after_the_write_timeout() {
    use tokio::io::AsyncWriteExt;
    use wirecall::{ConnectionConfig, Context, Params, PendingSubscription, SinkConfig};

    // A subscription that sends as fast as the stream takes its items.
    let mut router = Router::new();
    router
        .subscription(
            "flood",
            "flood_item",
            "unflood",
            SinkConfig::default(),
            |_: Params<'_>, _: &Context, pending: PendingSubscription<String>| {
                Ok(async move {
                    let Ok(sink) = pending.accept() else { return };
                    let item = "x".repeat(1000);
                    while sink.send(&item).await.is_ok() {}
                })
            },
        )
        .unwrap();
    let config = ConnectionConfig::default().write_timeout(Duration::from_millis(300));
    let server = Server::builder()
        .connection_config(config)
        .build(router)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut stubborn = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let call = r#"{"jsonrpc":"2.0","method":"flood","id":1}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: {}\r\n\r\n{call}",
        call.len()
    );
    stubborn.write_all(request.as_bytes()).await.unwrap();
    // The stream holds a connection's place while it runs; the client never
    // reads, so its writes stall, and past the write timeout it ends.
    let mut held = false;
    for _ in 0..300 {
        let open = server.server().connection_count();
        held |= open == 1;
        if held && open == 0 {
            drop(stubborn);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the stalled event stream still holds its place (held: {held})");
}
