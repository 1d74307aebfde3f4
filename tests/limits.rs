//! Server limits and admission over real sockets: connections, message
//! size, batch length, subscriptions, Origin, auth, a peer that never reads,
//! keep-alive, graceful shutdown, and TLS.

#[path = "common/server.rs"]
mod server;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wirecall::client::{Client, ConnectError};
use wirecall::server::{Rejection, Server};
use wirecall::{CallError, ConnectionConfig, Context, ErrorObject, Extensions, Params, Router};

async fn raw_socket(
    url: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    tokio_tungstenite::connect_async(url).await.unwrap().0
}

async fn next_text<S>(socket: &mut S) -> serde_json::Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn excess_connections_are_refused_with_429() {
    let (_server, url) = server::start(Server::builder().max_connections(2)).await;
    let first = Client::connect(&url).await.unwrap();
    let _second = Client::connect(&url).await.unwrap();
    let third = Client::connect(&url).await.unwrap_err();
    assert!(
        matches!(third, ConnectError::Refused { status: 429 }),
        "{third:?}"
    );
    first.close().await;
    for _ in 0..100 {
        if Client::connect(&url).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("a freed slot was never reused");
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let (_server, url) = server::start(Server::builder().max_message_size(1024)).await;
    let client = Client::connect(&url).await.unwrap();
    assert_eq!(
        client.call::<String>("echo", ["small"]).await.unwrap(),
        "small"
    );
    let outcome = client.call::<String>("echo", ["y".repeat(4096)]).await;
    assert!(
        matches!(outcome, Err(CallError::Disconnected(_))),
        "{outcome:?}"
    );
    let closed = client.closed().await;
    assert_eq!(closed.code, Some(1009), "{closed}");
}

#[tokio::test]
async fn a_long_batch_gets_one_invalid_request() {
    let (_server, url) = server::start(Server::builder().max_batch_len(3)).await;
    let mut socket = raw_socket(&url).await;
    let call = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;
    let batch = format!("[{}]", [call; 5].join(","));
    socket.send(Message::text(batch)).await.unwrap();
    let reply = next_text(&mut socket).await;
    assert_eq!(reply["error"]["code"], -32600, "{reply}");
    assert!(reply["id"].is_null());
    socket
        .send(Message::text(format!("[{}]", [call; 3].join(","))))
        .await
        .unwrap();
    assert_eq!(next_text(&mut socket).await.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn binary_frames_carry_json_too() {
    let (_server, url) = server::start_default().await;
    let mut socket = raw_socket(&url).await;
    let call = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":7}"#;
    socket
        .send(Message::binary(call.as_bytes().to_vec()))
        .await
        .unwrap();
    assert_eq!(next_text(&mut socket).await["result"], 3);
    socket
        .send(Message::binary(vec![0xff, 0xfe]))
        .await
        .unwrap();
    assert_eq!(next_text(&mut socket).await["error"]["code"], -32700);
}

#[tokio::test]
async fn the_subscription_limit_is_enforced() {
    let (_server, url) = server::start(Server::builder().max_subscriptions(2)).await;
    let client = Client::connect(&url).await.unwrap();
    let _a = client
        .subscribe::<u64>("subscribe_forever", (), "unsubscribe_forever")
        .await
        .unwrap();
    let b = client
        .subscribe::<u64>("subscribe_forever", (), "unsubscribe_forever")
        .await
        .unwrap();
    let err = client
        .subscribe::<u64>("subscribe_forever", (), "unsubscribe_forever")
        .await
        .unwrap_err();
    assert_eq!(err.as_rpc().unwrap().code.code(), -32002, "{err}");
    b.unsubscribe().await.unwrap();
    client
        .subscribe::<u64>("subscribe_forever", (), "unsubscribe_forever")
        .await
        .unwrap();
}

/// Subscribes racing for the last rooms (a batch's calls run at once, on
/// several threads) are each accepted or refused with the limit's -32002,
/// never left unanswered (-32603).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribes_racing_for_the_limit_get_the_limit_error() {
    let (_server, url) = server::start(Server::builder().max_subscriptions(4)).await;
    for _ in 0..100 {
        let (mut socket, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        let batch: Vec<serde_json::Value> = (0..16)
            .map(
                |id| serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "subscribe_forever"}),
            )
            .collect();
        socket
            .send(Message::text(serde_json::Value::from(batch).to_string()))
            .await
            .unwrap();
        let answers = loop {
            let frame = next_text(&mut socket).await;
            if frame.is_array() {
                break frame;
            }
        };
        let answers = answers.as_array().unwrap();
        assert_eq!(answers.len(), 16);
        let accepted = answers.iter().filter(|a| a.get("result").is_some()).count();
        for answer in answers.iter().filter(|a| a.get("error").is_some()) {
            assert_eq!(answer["error"]["code"], -32002, "{answer}");
        }
        assert_eq!(accepted, 4);
    }
}

#[tokio::test]
async fn origins_outside_the_allow_list_get_403() {
    let (_server, url) =
        server::start(Server::builder().allowed_origins(["https://good.example"])).await;
    let bad = Client::builder()
        .header("Origin", "https://evil.example")
        .connect(&url)
        .await
        .unwrap_err();
    assert!(
        matches!(bad, ConnectError::Refused { status: 403 }),
        "{bad:?}"
    );
    let none = Client::connect(&url).await.unwrap_err();
    assert!(
        matches!(none, ConnectError::Refused { status: 403 }),
        "{none:?}"
    );
    let good = Client::builder()
        .header("Origin", "https://good.example")
        .connect(&url)
        .await
        .unwrap();
    assert_eq!(good.call::<i64>("add", [1, 1]).await.unwrap(), 2);
}

struct User(String);

#[tokio::test]
async fn the_handshake_hook_rejects_or_attaches_a_user() {
    let mut router = Router::new();
    router
        .method("whoami", |_: Params<'_>, ctx: &Context| {
            let name = ctx.get::<User>().map(|u| u.0.clone());
            Ok(async move { name.ok_or_else(|| ErrorObject::internal_error("no user")) })
        })
        .unwrap();
    let server = Server::builder()
        .handshake(|request| match request.bearer_token() {
            Some("ada-token") => {
                let mut ext = Extensions::new();
                ext.insert(User("ada".into()));
                Ok(ext)
            }
            Some(_) => Err(Rejection::forbidden("unknown token")),
            None => Err(Rejection::unauthorized("a bearer token is required")),
        })
        .build(router)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let anonymous = Client::connect(&url).await.unwrap_err();
    assert!(
        matches!(anonymous, ConnectError::Refused { status: 401 }),
        "{anonymous:?}"
    );
    let wrong = Client::builder()
        .header("Authorization", "Bearer nope")
        .connect(&url)
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, ConnectError::Refused { status: 403 }),
        "{wrong:?}"
    );
    let ada = Client::builder()
        .header("Authorization", "Bearer ada-token")
        .connect(&url)
        .await
        .unwrap();
    assert_eq!(ada.call::<String>("whoami", ()).await.unwrap(), "ada");
}

#[tokio::test]
async fn a_peer_that_never_reads_is_bounded_then_dropped() {
    let config = ConnectionConfig::default()
        .outbound_capacity(8)
        .max_in_flight(4)
        .write_timeout(Duration::from_millis(500));
    let (handle, url) = server::start(Server::builder().connection_config(config)).await;
    let mut stubborn = raw_socket(&url).await;
    let call = r#"{"jsonrpc":"2.0","method":"big","params":[65536],"id":1}"#;
    let sender = tokio::spawn(async move {
        for _ in 0..2_000 {
            if stubborn.send(Message::text(call)).await.is_err() {
                break;
            }
        }
        stubborn
    });
    let healthy = Client::connect(&url).await.unwrap();
    let mut stubborn_gone = false;
    for _ in 0..200 {
        for peer in handle.server().peers() {
            assert!(peer.queued_frames() <= 8, "outbound queue over its bound");
        }
        assert_eq!(healthy.call::<i64>("add", [1, 2]).await.unwrap(), 3);
        if handle.server().connection_count() == 1 {
            stubborn_gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stubborn_gone,
        "the server never dropped the peer that does not read"
    );
    drop(sender.await);
}

#[tokio::test]
async fn a_silent_peer_is_pinged_then_closed() {
    let config = ConnectionConfig::default()
        .ping_interval(Some(Duration::from_millis(100)))
        .idle_timeout(Some(Duration::from_millis(400)));
    let (handle, url) = server::start(Server::builder().connection_config(config)).await;
    let socket = raw_socket(&url).await; // never polled: pongs never go out
    let mut closed = false;
    for _ in 0..100 {
        if handle.server().connection_count() == 0 {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(closed, "the silent peer was never closed");
    drop(socket);
}

#[tokio::test]
async fn graceful_shutdown_finishes_calls_in_flight_and_refuses_new_ones() {
    let (handle, url) =
        server::start(Server::builder().shutdown_deadline(Duration::from_secs(5))).await;
    let client = Client::connect(&url).await.unwrap();
    let slow = tokio::spawn({
        let client = client.clone();
        async move { client.call::<u64>("sleep", [300]).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    tokio::time::timeout(Duration::from_secs(10), handle.shutdown())
        .await
        .unwrap();
    assert_eq!(slow.await.unwrap().unwrap(), 300);
    assert!(Client::connect(&url).await.is_err());
    assert_eq!(client.closed().await.code, Some(1001));
}

#[tokio::test]
async fn mounts_on_a_socket_another_stack_upgraded() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wirecall::server::http;
    let server = Server::builder()
        .allowed_origins(["http://app.example"])
        .build(server::test_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/rpc", listener.local_addr().unwrap());
    tokio::spawn(async move {
        // A minimal "other HTTP stack": parse the request, let wirecall judge
        // it, write the answer, then hand the socket over.
        loop {
            let (mut tcp, addr) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                tcp.read_exact(&mut byte).await.unwrap();
                head.push(byte[0]);
            }
            let head = String::from_utf8(head).unwrap();
            let mut request = http::Request::builder().method("GET").uri("/rpc");
            for line in head.lines().skip(1).filter(|l| !l.is_empty()) {
                let (name, value) = line.split_once(':').unwrap();
                request = request.header(name.trim(), value.trim());
            }
            match server.accept_upgrade(&request.body(()).unwrap(), Some(addr)) {
                Ok((response, extensions)) => {
                    let mut reply = String::from("HTTP/1.1 101 Switching Protocols\r\n");
                    for (name, value) in response.headers() {
                        use std::fmt::Write;
                        write!(reply, "{name}: {}\r\n", value.to_str().unwrap()).unwrap();
                    }
                    reply.push_str("\r\n");
                    tcp.write_all(reply.as_bytes()).await.unwrap();
                    server.serve_upgraded(tcp, Some(addr), extensions).await;
                }
                Err(rejection) => {
                    let reply = format!(
                        "HTTP/1.1 {} Refused\r\ncontent-length: 0\r\n\r\n",
                        rejection.status()
                    );
                    tcp.write_all(reply.as_bytes()).await.unwrap();
                }
            }
        }
    });
    let refused = Client::connect(&url).await.unwrap_err();
    assert!(
        matches!(refused, ConnectError::Refused { status: 403 }),
        "{refused:?}"
    );
    let client = Client::builder()
        .header("Origin", "http://app.example")
        .connect(&url)
        .await
        .unwrap();
    assert_eq!(client.call::<i64>("add", [20, 22]).await.unwrap(), 42);
}

#[tokio::test]
async fn wss_works_with_a_certificate_made_at_test_time() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_der = cert.cert.der().clone();
    let key_der =
        rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    #[allow(deprecated)] // ring, as the client uses (see wirecall-client's default_tls)
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key_der)
        .unwrap();
    let handle = Server::builder()
        .tls(Arc::new(server_tls))
        .build(server::test_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).unwrap();
    let client_tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let url = format!("wss://localhost:{}/", handle.local_addr().port());
    let client = Client::builder()
        .tls(Arc::new(client_tls))
        .connect(&url)
        .await
        .unwrap();
    assert_eq!(
        client.call::<String>("echo", ["over tls"]).await.unwrap(),
        "over tls"
    );
    let plain = Client::connect(&format!("ws://127.0.0.1:{}/", handle.local_addr().port())).await;
    assert!(plain.is_err());
}
