//! The TypeScript client (clients/typescript) against real servers run as
//! processes: tests/typescript/*.test.mjs under Node's own test runner,
//! given the built `spec_server` and `ticker` examples. Needs Node and the
//! package built (`npm ci && npm run build` in clients/typescript); without
//! them it prints "skipped", and fails under CI.

#[path = "common/process.rs"]
mod process;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

/// Longer than the Node tests take together on a busy machine; a hung run
/// is killed and fails instead of holding up the suite.
const DEADLINE: Duration = Duration::from_secs(300);

#[test]
fn the_typescript_client_against_real_servers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let built = root.join("clients/typescript/dist/index.js");
    let ws = root.join("clients/typescript/node_modules/ws");
    let node = std::process::Command::new("node").arg("--version").output();
    if !(node.is_ok_and(|out| out.status.success()) && built.exists() && ws.exists()) {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "Node and the built TypeScript client are needed under CI (.ci/run builds it)"
        );
        println!(
            "skipped: run `npm ci && npm run build` in clients/typescript (with Node installed)"
        );
        return;
    }
    let mut node = std::process::Command::new("node")
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-force-exit",
            "tests/typescript/",
        ])
        .current_dir(root)
        .env("WIRECALL_SPEC_SERVER", process::example("spec_server"))
        .env("WIRECALL_TICKER", process::example("ticker"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node runs");
    // Read while it runs, so a full pipe never stalls it.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = drain(Box::new(node.stdout.take().expect("piped")));
    let stderr = drain(Box::new(node.stderr.take().expect("piped")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = node.try_wait().expect("node can be waited for") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = node.kill();
            break node.wait().expect("node ends");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let report = format!(
        "{}{}",
        stdout.join().expect("stdout read"),
        stderr.join().expect("stderr read")
    );
    println!("{report}");
    assert!(
        started.elapsed() <= DEADLINE,
        "the TypeScript client's tests did not finish in {DEADLINE:?}:\n{report}"
    );
    assert!(
        status.success(),
        "the TypeScript client's tests failed:\n{report}"
    );
    // The run must have run tests, not found none.
    assert!(
        report.contains("# pass") && !report.contains("# pass 0"),
        "{report}"
    );
}
