//! The client compiled to WebAssembly, in headless Chromium, against a real
//! server: this test serves on 127.0.0.1, then builds and runs the browser
//! test (`tests/wasm`, package `wasm-browser-test`) with wasm-bindgen-test,
//! telling it the server's URL at build time. When the browser asks, the
//! server goes down and comes back on the same port with a fresh topic (a
//! new epoch), as a restarted server does.
//!
//! Needs the `wasm32-unknown-unknown` target, `wasm-bindgen-test-runner`
//! (wasm-bindgen-cli, the same version as the wasm-bindgen crate), and
//! Debian's `chromium` and `chromium-driver`; `.ci/run` installs them.
//! Without them the test says so and passes, except under CI.

#[path = "common/topics.rs"]
mod topics;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::process::Command;
use tokio::sync::Notify;
use wirecall::bus::{self, InProcessBus};
use wirecall::{Context, ErrorObject, Params, Router, Server, ServerHandle};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Everything the browser test needs, or why it cannot run.
fn missing_tool() -> Option<String> {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        return Some("chromium and chromium-driver".into());
    }
    let runner = std::process::Command::new("wasm-bindgen-test-runner")
        .arg("--version")
        .output();
    if !runner.is_ok_and(|output| output.status.success()) {
        return Some("wasm-bindgen-test-runner (cargo install wasm-bindgen-cli)".into());
    }
    let targets = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let installed = targets.is_ok_and(|output| {
        String::from_utf8_lossy(&output.stdout).contains("wasm32-unknown-unknown")
    });
    if !installed {
        return Some("the wasm32-unknown-unknown target (rustup target add)".into());
    }
    None
}

/// `a - b` from `[a, b]` or `{"minuend": a, "subtrahend": b}`.
fn subtract(params: &Params<'_>) -> Result<i64, ErrorObject> {
    #[derive(serde::Deserialize)]
    struct Named {
        minuend: i64,
        subtrahend: i64,
    }
    if let Ok((a, b)) = params.parse::<(i64, i64)>() {
        return Ok(a - b);
    }
    let named: Named = params.parse()?;
    Ok(named.minuend - named.subtrahend)
}

/// The browser's service, fed by `bus`; `restart` wakes `restarting`.
fn router(bus: Arc<InProcessBus>, restarting: Arc<Notify>) -> Router {
    let mut router = Router::new();
    for name in ["subtract", "subtract_named"] {
        router
            .method(name, |params: Params<'_>, _: &Context| {
                let answer = subtract(&params);
                Ok(async move { answer })
            })
            .unwrap();
    }
    router
        .method("divide", |params: Params<'_>, _: &Context| {
            let (a, b): (i64, i64) = params.parse()?;
            Ok(async move {
                if b == 0 {
                    return Err(ErrorObject::new(4000, "division by zero"));
                }
                Ok(a / b)
            })
        })
        .unwrap()
        .method("restart", move |_: Params<'_>, _: &Context| {
            let restarting = restarting.clone();
            Ok(async move {
                restarting.notify_one();
                Ok::<_, ErrorObject>(())
            })
        })
        .unwrap();
    topics::follow_numbers(&mut router, bus);
    router
}

/// One life of the server: listening on `addr`, publishing 0, 1, 2… on
/// `numbers` every 20 ms.
async fn serve(
    addr: SocketAddr,
    restarting: Arc<Notify>,
) -> (ServerHandle, tokio::task::JoinHandle<()>) {
    let bus = Arc::new(InProcessBus::default().with_history(10_000, Duration::from_secs(600)));
    let handle = Server::builder()
        .shutdown_deadline(Duration::from_millis(100))
        .build(router(bus.clone(), restarting))
        .bind(addr)
        .await
        .expect("the server binds");
    let publisher = tokio::spawn(async move {
        for n in 0u64.. {
            if bus::publish(&*bus, "numbers", &n).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    (handle, publisher)
}

/// Where the browser build goes: beside the workspace's own builds.
fn target_dir() -> PathBuf {
    let root = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    root.join("wasm-browser")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_runs_in_headless_chromium_and_resumes_a_restarted_server() {
    if let Some(missing) = missing_tool() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{missing} must be installed under CI (.ci/run installs it)"
        );
        println!("skipped: {missing} is not installed");
        return;
    }
    let restarting = Arc::new(Notify::new());
    let (mut handle, mut publisher) =
        serve("127.0.0.1:0".parse().unwrap(), restarting.clone()).await;
    let addr = handle.local_addr();

    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wasm");
    let mut browser = Command::new(env!("CARGO"))
        .args([
            "test",
            "-p",
            "wasm-browser-test",
            "--target",
            "wasm32-unknown-unknown",
        ])
        // The browser's console (and a panic's message) in the output.
        .args(["--", "--nocapture"])
        .current_dir(&crate_dir)
        .env("WIRECALL_WASM_URL", format!("ws://{addr}/"))
        .env("CARGO_TARGET_DIR", target_dir())
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", CHROMEDRIVER)
        .env("WASM_BINDGEN_TEST_TIMEOUT", "120")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("cargo runs");
    let stdout = browser.stdout.take().unwrap();
    let stderr = browser.stderr.take().unwrap();
    let output = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let (mut out, mut err) = (String::new(), String::new());
        let mut stdout = stdout;
        let mut stderr = stderr;
        let _ = tokio::join!(
            stdout.read_to_string(&mut out),
            stderr.read_to_string(&mut err)
        );
        (out, err)
    });

    // Restart whenever the browser asks, until its test is over. The first
    // build of the browser test takes minutes.
    let finished = tokio::time::timeout(Duration::from_secs(900), async {
        let mut restarts = 0;
        loop {
            tokio::select! {
                status = browser.wait() => return (status.expect("cargo ends"), restarts),
                () = restarting.notified() => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    publisher.abort();
                    handle.shutdown().await;
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    (handle, publisher) = serve(addr, restarting.clone()).await;
                    restarts += 1;
                }
            }
        }
    })
    .await;
    let (out, err) = output.await.unwrap();
    let Ok((status, restarts)) = finished else {
        panic!("the browser test did not finish in 15 minutes\n{out}\n{err}");
    };
    println!("{out}");
    assert!(status.success(), "the browser test failed:\n{out}\n{err}");
    assert!(out.contains("test result: ok. 1 passed"), "{out}\n{err}");
    assert_eq!(restarts, 1, "the server restarted once");
    handle.shutdown().await;
}
