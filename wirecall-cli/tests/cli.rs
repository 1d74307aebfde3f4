//! The `wirecall` command run as a process against the spec fixture service
//! (examples/spec's service, served here on 127.0.0.1:0): calls by
//! position and by name, a batch from a file, a subscription with --count,
//! Ctrl-C during a subscription, and every error exit code.

#[path = "../../tests/common/server.rs"]
#[allow(dead_code)] // only `serve` is used here
mod server;
#[path = "../../examples/spec/service.rs"]
#[allow(dead_code)] // the example's own entry points are not used here
mod service;

use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use service::SpecServer;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use wirecall::middleware::{Call, CallKind, Layer, Next, Running};
use wirecall::server::{Server, ServerHandle};
use wirecall::{Context, ErrorObject, Params, PendingSubscription};

/// A book to shelve.
#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Book {
    /// The title, as printed.
    title: String,
    year: u32,
}

/// A subscription whose end cannot be guessed from its name, and a method
/// whose param is an object.
#[wirecall::rpc(server, openrpc)]
trait Feed {
    /// Pushes `0..n`, then stays open until it is ended.
    #[subscription(name = "watch", unsubscribe = "unwatch", item = u64)]
    async fn watch(&self, sink: PendingSubscription<u64>, n: u64);

    /// The price of `symbol`, as a line of text.
    #[method(name = "quote")]
    async fn quote(&self, symbol: String) -> Result<String, ErrorObject>;

    /// Shelves a book; answers its year.
    #[method(name = "shelve")]
    async fn shelve(
        &self,
        /// The book to put away.
        book: Book,
    ) -> Result<u32, ErrorObject>;
}

struct FeedService;

impl FeedServer for FeedService {
    async fn quote(&self, symbol: String) -> Result<String, ErrorObject> {
        Ok(format!("{symbol}: 42"))
    }

    async fn shelve(&self, book: Book) -> Result<u32, ErrorObject> {
        Ok(book.year + u32::from(book.title.is_empty()))
    }

    async fn watch(&self, sink: PendingSubscription<u64>, n: u64) {
        let Ok(sink) = sink.accept() else { return };
        for i in 0..n {
            if sink.send(&i).await.is_err() {
                return;
            }
        }
        sink.closed().await;
    }
}

/// Remembers the unsubscribe calls the server receives.
#[derive(Clone, Default)]
struct Unsubscribes(Arc<Mutex<Vec<String>>>);

impl Layer for Unsubscribes {
    fn handle(&self, call: &Call<'_>, next: Next<'_>) -> Running {
        if call.kind() == CallKind::Unsubscribe {
            self.0.lock().unwrap().push(call.method().to_owned());
        }
        next.run()
    }
}

/// The spec service and the feed, plus `hang` (never answers and is not
/// in the document), on 127.0.0.1:0.
async fn serve() -> (ServerHandle, String, Unsubscribes) {
    let mut router = service::SpecService.into_router();
    router.merge(FeedService.into_router()).unwrap();
    router
        .method("hang", |_: Params<'_>, _: &Context| {
            Ok(async {
                std::future::pending::<()>().await;
                Ok::<_, ErrorObject>(())
            })
        })
        .unwrap();
    let seen = Unsubscribes::default();
    router.layer(seen.clone());
    let (handle, url) = server::serve(router).await;
    (handle, url, seen)
}

fn wirecall(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wirecall"));
    command.args(args).kill_on_drop(true);
    command
}

async fn run(args: &[&str]) -> Output {
    tokio::time::timeout(Duration::from_secs(30), wirecall(args).output())
        .await
        .expect("wirecall finished within 30 s")
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

#[tokio::test]
async fn calls_by_position_and_by_name() {
    let (_server, url, _) = serve().await;
    let by_position = run(&["call", &url, "subtract", "42", "23"]).await;
    assert_eq!(by_position.status.code(), Some(0), "{by_position:?}");
    assert_eq!(text(&by_position.stdout), "19");
    let by_name = run(&["call", &url, "subtract", "subtrahend:=23", "minuend:=42"]).await;
    assert_eq!(text(&by_name.stdout), "19", "{by_name:?}");
    let data = run(&["call", &url, "get_data"]).await;
    assert_eq!(text(&data.stdout), r#"["hello",5]"#, "compact when piped");
    let notified = run(&["notify", &url, "notify_hello", "7"]).await;
    assert_eq!(notified.status.code(), Some(0), "{notified:?}");
    assert!(notified.stdout.is_empty());
}

#[tokio::test]
async fn a_bare_word_goes_as_a_string_where_the_document_takes_one() {
    let (_server, url, _) = serve().await;
    let quoted = run(&["call", &url, "quote", "ACME"]).await;
    assert_eq!(quoted.status.code(), Some(0), "{quoted:?}");
    assert_eq!(text(&quoted.stdout), r#""ACME: 42""#);
    // Where the param is a number, a word is still refused, with the fix.
    let refused = run(&["call", &url, "subtract", "ten", "1"]).await;
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(text(&refused.stderr).contains("is not JSON"), "{refused:?}");
    // A mistyped method is named before its arguments are judged.
    let mistyped = run(&["call", &url, "qoute", "ACME"]).await;
    let said = text(&mistyped.stderr);
    assert!(said.contains("did you mean `quote`?"), "{said}");
}

#[tokio::test]
async fn a_batch_from_a_file() {
    let (_server, url, _) = serve().await;
    let file = std::env::temp_dir().join(format!("wirecall-batch-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"[{"method": "sum", "params": [1, 2, 4], "id": "a"},
            {"method": "notify_hello", "params": [7]},
            {"method": "subtract", "params": {"minuend": 5, "subtrahend": 3}, "id": 2}]"#,
    )
    .unwrap();
    let out = run(&["batch", &url, "-f", file.to_str().unwrap()]).await;
    std::fs::remove_file(&file).unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(
        text(&out.stdout),
        r#"[{"id":"a","result":7},{"id":2,"result":2}]"#
    );
}

#[tokio::test]
async fn a_subscription_stops_after_count_and_unsubscribes() {
    let (_server, url, seen) = serve().await;
    let out = run(&[
        "subscribe",
        &url,
        "subscribe_counter",
        "100",
        "--count",
        "3",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&out.stdout), "0\n1\n2");
    assert_eq!(*seen.0.lock().unwrap(), ["unsubscribe_counter"]);
}

#[tokio::test]
async fn help_shows_an_object_params_members_and_raw_converts_as_usual() {
    let (_server, url, _) = serve().await;
    let help = run(&["call", &url, "shelve", "--help"]).await;
    let help = text(&help.stdout);
    assert!(
        help.lines().any(|l| l
            .split_whitespace()
            .eq(["book", "Book", "required", "The", "book", "to", "put", "away."])),
        "{help}"
    );
    assert!(
        help.lines().any(|l| l
            .split_whitespace()
            .eq([".title", "string", "required", "The", "title,", "as", "printed."])),
        "{help}"
    );
    assert!(
        help.lines()
            .any(|l| l.split_whitespace().eq([".year", "integer", "required"])),
        "{help}"
    );
    let shelved = run(&[
        "call",
        &url,
        "shelve",
        r#"book:={"title":"Dune","year":1965}"#,
    ])
    .await;
    assert_eq!(text(&shelved.stdout), "1965", "{shelved:?}");

    // --raw changes what is printed, not what is sent: text becomes numbers.
    let raw = run(&[
        "call",
        &url,
        "subtract",
        "minuend=5",
        "subtrahend=3",
        "--raw",
    ])
    .await;
    assert_eq!(
        text(&raw.stdout),
        r#"{"jsonrpc":"2.0","id":1,"result":2}"#,
        "{raw:?}"
    );
    assert!(raw.stderr.is_empty(), "{raw:?}");
    // The spec's own method needs no entry in the document.
    let discovered = run(&["call", &url, "rpc.discover"]).await;
    assert_eq!(discovered.status.code(), Some(0));
    assert!(discovered.stderr.is_empty(), "{discovered:?}");
}

#[tokio::test]
async fn the_document_names_the_method_that_ends_a_subscription() {
    let (_server, url, seen) = serve().await;
    let out = run(&["subscribe", &url, "watch", "n=5", "--count", "2"]).await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&out.stdout), "0\n1");
    assert_eq!(*seen.0.lock().unwrap(), ["unwatch"]);
}

#[tokio::test]
async fn ctrl_c_during_a_subscription_unsubscribes_and_exits() {
    let (_server, url, seen) = serve().await;
    let mut child = wirecall(&["subscribe", &url, "subscribe_counter", "100000000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.as_deref(), Some("0"));
    let pid = child.id().unwrap().to_string();
    let signalled = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(signalled.success());
    // Keep reading so the process is never blocked on a full pipe.
    let drain = tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("wirecall exited after Ctrl-C")
        .unwrap();
    drain.await.unwrap();
    assert_eq!(status.code(), Some(0), "a clean stop");
    assert_eq!(*seen.0.lock().unwrap(), ["unsubscribe_counter"]);
}

#[tokio::test]
async fn wss_with_a_certificate_given_by_cacert() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    #[allow(deprecated)] // ring, as the client uses (see wirecall-client's default_tls)
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    let server = Server::builder()
        .tls(Arc::new(tls))
        .build(service::SpecService.into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("wss://localhost:{}/", server.local_addr().port());
    let pem = std::env::temp_dir().join(format!("wirecall-cacert-{}.pem", std::process::id()));
    std::fs::write(&pem, cert.cert.pem()).unwrap();
    let pem_arg = pem.to_str().unwrap();

    let out = run(&[
        "call",
        &url,
        "subtract",
        "minuend=5",
        "subtrahend=3",
        "--cacert",
        pem_arg,
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(text(&out.stdout), "2");
    let listing = run(&["discover", &url, "--cacert", pem_arg]).await;
    assert!(text(&listing.stdout).starts_with("Spec "), "{listing:?}");

    // Without it the certificate is unknown: a connection failure.
    let untrusted = run(&["call", &url, "subtract", "5", "3"]).await;
    assert_eq!(untrusted.status.code(), Some(3), "{untrusted:?}");
    assert!(
        text(&untrusted.stderr).contains("cannot connect to wss://localhost"),
        "{untrusted:?}"
    );
    let not_pem = run(&["call", &url, "subtract", "5", "3", "--cacert", "Cargo.toml"]).await;
    assert_eq!(not_pem.status.code(), Some(2), "{not_pem:?}");
    assert!(
        text(&not_pem.stderr).contains("holds no PEM certificate"),
        "{not_pem:?}"
    );
    std::fs::remove_file(&pem).unwrap();
}

#[tokio::test]
async fn every_command_takes_an_http_url() {
    let (_server, url, _) = serve().await;
    let url = url.replace("ws://", "http://");
    let called = run(&["call", &url, "subtract", "subtrahend:=23", "minuend:=42"]).await;
    assert_eq!(text(&called.stdout), "19", "{called:?}");
    let notified = run(&["notify", &url, "notify_hello", "7"]).await;
    assert_eq!(notified.status.code(), Some(0), "{notified:?}");
    let file = std::env::temp_dir().join(format!("wirecall-http-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"[{"method": "sum", "params": [1, 2], "id": 1}, {"method": "notify_hello", "params": [7]}]"#,
    )
    .unwrap();
    let batch = run(&["batch", &url, "-f", file.to_str().unwrap()]).await;
    std::fs::remove_file(&file).unwrap();
    assert_eq!(text(&batch.stdout), r#"[{"id":1,"result":3}]"#, "{batch:?}");
    let items = run(&["subscribe", &url, "watch", "5", "--count", "3"]).await;
    assert_eq!(items.status.code(), Some(0), "{items:?}");
    assert_eq!(text(&items.stdout), "0\n1\n2");
    let listed = run(&["discover", &url]).await;
    assert!(text(&listed.stdout).contains("subtract"), "{listed:?}");
    let raw = run(&["call", &url, "sum", "1", "--raw"]).await;
    assert_eq!(raw.status.code(), Some(2), "{raw:?}");
    assert!(text(&raw.stderr).contains("over HTTP"), "{raw:?}");
    let nobody = run(&["call", "http://127.0.0.1:1/", "sum", "1"]).await;
    assert_eq!(nobody.status.code(), Some(3), "{nobody:?}");
    let said = text(&nobody.stderr);
    assert!(
        said.contains("cannot connect to http://127.0.0.1:1/: tcp connect error"),
        "{said}"
    );
}

#[tokio::test]
async fn each_failure_has_its_exit_code_and_one_line() {
    let (_server, url, _) = serve().await;
    let cases: [(&[&str], i32, &str); 16] = [
        (
            &["call", &url, "subtract", "hello"],
            2,
            "argument 1 (`hello`) is not JSON",
        ),
        (&["call", "ftp://host/", "m"], 2, "bad URL `ftp://host/`"),
        (
            &["call", &url, "m", "-H", "no-colon"],
            2,
            "bad header `no-colon`",
        ),
        (
            &["call", "ws://127.0.0.1:1/", "m"],
            3,
            "cannot connect to ws://127.0.0.1:1/",
        ),
        // `hang` is served but not in the document: sent unchecked.
        (
            &["call", &url, "hang", "--timeout", "0.3"],
            4,
            "no answer within",
        ),
        (
            &["call", &url, "nope", "--no-discover"],
            5,
            "error -32601: Method not found",
        ),
        // With the server's document, mistakes are caught before sending.
        // A name the document lacks is still sent, after a hint.
        (
            &["call", &url, "subtrac", "1", "2"],
            5,
            "lists no method `subtrac`; did you mean `subtract`?",
        ),
        (
            &["call", &url, "subtract", "1"],
            2,
            "`subtract`: `subtrahend` (integer) is required",
        ),
        (
            &["call", &url, "subtract", "minuend=x", "subtrahend=1"],
            2,
            "`minuend` takes integer: `x` is not one",
        ),
        (
            &["call", &url, "sum", "a=1", "total=2"],
            2,
            "no param `total` (its params: a, b, c)",
        ),
        (
            &["subscribe", &url, "counter_feed", "--no-discover"],
            2,
            "pass --unsubscribe METHOD",
        ),
        // Values are checked inside, against their schemas.
        (
            &[
                "call",
                &url,
                "shelve",
                r#"book:={"title":"Dune","year":-1}"#,
            ],
            2,
            "`shelve`: `book.year` must be at least 0, not -1",
        ),
        (
            &["call", &url, "shelve", r#"book:={"title":"Dune"}"#],
            2,
            "`shelve`: `book` needs a member `year`",
        ),
        // Each kind of method through its own command.
        (
            &["call", &url, "subscribe_counter", "3"],
            2,
            "`subscribe_counter` is a subscription: use `wirecall subscribe`",
        ),
        (
            &["call", &url, "notify_hello", "1"],
            2,
            "`notify_hello` is a notification, which answers nothing: use `wirecall notify`",
        ),
        (
            &["subscribe", &url, "subtract", "1", "2"],
            2,
            "`subtract` is a method that answers: use `wirecall call`",
        ),
    ];
    for (args, code, message) in cases {
        let out = run(args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let invalid = run(&["call", &url, "subtract", "1", "--no-discover"]).await;
    assert_eq!(invalid.status.code(), Some(5));
    assert!(
        text(&invalid.stderr).starts_with("error -32602"),
        "{invalid:?}"
    );
}
