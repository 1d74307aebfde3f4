//! The upgrade handshake, strict and answered in HTTP, tested with raw TCP:
//! duplicate headers, old versions, plain HTTP requests and other paths
//! each get their status; a good upgrade still gets 101.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wirecall::server::http;
use wirecall::{Client, Context, ErrorObject, Params, Router, Server, ServerHandle};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn router() -> Router {
    let mut router = Router::new();
    router
        .method("ping", |_: Params<'_>, _: &Context| {
            Ok(async { Ok::<_, ErrorObject>("pong") })
        })
        .unwrap();
    router
}

async fn start(builder: wirecall::server::ServerBuilder) -> ServerHandle {
    builder.build(router()).bind("127.0.0.1:0").await.unwrap()
}

/// An upgrade request for `path` with `extra` header lines.
fn upgrade(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Sends `request` and reads the answer's head: status and headers.
async fn exchange(server: &ServerHandle, request: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = async {
        let mut chunk = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut chunk).await.unwrap();
            assert!(n > 0, "closed without an HTTP answer");
            answer.extend_from_slice(&chunk[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("an answer in time");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    (status, text.to_ascii_lowercase())
}

#[tokio::test]
async fn a_good_upgrade_gets_101() {
    let server = start(Server::builder()).await;
    let (status, head) = exchange(&server, &upgrade("/", "")).await;
    assert_eq!(status, 101, "{head}");
    assert!(
        head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
}

#[tokio::test]
async fn duplicate_headers_get_400() {
    let server = start(Server::builder()).await;
    for duplicate in [
        "Host: elsewhere\r\n",
        "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n",
        "Sec-WebSocket-Version: 13\r\n",
    ] {
        let (status, head) = exchange(&server, &upgrade("/", duplicate)).await;
        assert_eq!(status, 400, "{duplicate:?}: {head}");
    }
}

#[tokio::test]
async fn an_old_version_gets_426_naming_version_13() {
    let server = start(Server::builder()).await;
    let request = upgrade("/", "").replace("Version: 13", "Version: 8");
    let (status, head) = exchange(&server, &request).await;
    assert_eq!(status, 426, "{head}");
    assert!(head.contains("sec-websocket-version: 13"), "{head}");
}

#[tokio::test]
async fn plain_http_requests_are_served_as_http() {
    let server = start(Server::builder()).await;
    // A GET that asks for no upgrade: 405, naming what is allowed.
    let (status, head) = exchange(&server, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").await;
    assert_eq!(status, 405, "{head}");
    assert!(head.contains("allow: get, post, options"), "{head}");
    // A POST without a JSON content type: 415.
    let (status, head) = exchange(
        &server,
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}",
    )
    .await;
    assert_eq!(status, 415, "{head}");
    // A JSON call: answered.
    let call = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    let (status, head) = exchange(
        &server,
        &format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{call}",
            call.len()
        ),
    )
    .await;
    assert_eq!(status, 200, "{head}");
}

#[tokio::test]
async fn a_restricted_path_upgrades_there_and_404s_elsewhere() {
    let server = start(Server::builder().path("/rpc")).await;
    assert_eq!(exchange(&server, &upgrade("/other", "")).await.0, 404);
    assert_eq!(exchange(&server, &upgrade("/", "")).await.0, 404);
    assert_eq!(exchange(&server, &upgrade("/rpc", "")).await.0, 101);
    let client = Client::connect(&format!("ws://{}/rpc", server.local_addr()))
        .await
        .unwrap();
    assert_eq!(client.call::<String>("ping", ()).await.unwrap(), "pong");
}

#[tokio::test]
async fn accept_upgrade_makes_the_same_checks() {
    let server = Server::builder().path("/rpc").build(router());
    let request = |path: &str, extra: &[(&str, &str)]| {
        let mut builder = http::Request::builder()
            .method("GET")
            .uri(path)
            .header("host", "localhost")
            .header("upgrade", "websocket")
            .header("connection", "Upgrade")
            .header("sec-websocket-key", KEY)
            .header("sec-websocket-version", "13");
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap()
    };
    let status = |request: &http::Request<()>| match server.accept_upgrade(request, None) {
        Ok((response, _)) => response.status().as_u16(),
        Err(rejection) => rejection.status(),
    };
    assert_eq!(status(&request("/rpc", &[])), 101);
    assert_eq!(status(&request("/", &[])), 404);
    assert_eq!(status(&request("/rpc", &[("host", "twice")])), 400);
    let mut old = request("/rpc", &[]);
    old.headers_mut()
        .insert("sec-websocket-version", http::HeaderValue::from_static("8"));
    assert_eq!(status(&old), 426);
}

#[tokio::test]
async fn one_keep_alive_connection_carries_a_post_then_a_websocket() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let server = start(Server::builder()).await;
    let mut tcp = TcpStream::connect(server.local_addr()).await.unwrap();
    let call = r#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
    let post = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{call}",
        call.len()
    );
    tcp.write_all(post.as_bytes()).await.unwrap();
    // Read exactly the answer (its head, then Content-Length bytes).
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).await.unwrap();
        answer.push(byte[0]);
    }
    let head = String::from_utf8(answer).unwrap().to_ascii_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut body = vec![0u8; length];
    tcp.read_exact(&mut body).await.unwrap();
    assert!(String::from_utf8(body).unwrap().contains("pong"));

    // The same connection asks for an upgrade, and speaks WebSocket.
    let url = format!("ws://{}/", server.local_addr());
    let (mut socket, _) = tokio_tungstenite::client_async(url, tcp).await.unwrap();
    socket.send(Message::text(call)).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), socket.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(reply.to_text().unwrap().contains("pong"), "{reply:?}");
    assert_eq!(server.server().connection_count(), 1);
}
