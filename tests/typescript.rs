//! The TypeScript client (clients/typescript) against real servers run as
//! processes: tests/typescript/*.test.mjs under Node's own test runner,
//! given the built `spec_server` and `ticker` examples. Needs Node and the
//! package built (`npm ci && npm run build` in clients/typescript); without
//! them it prints "skipped", and fails under CI.

#[path = "common/process.rs"]
mod process;

use std::path::Path;

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
        println!("skipped: run `npm ci && npm run build` in clients/typescript (with Node installed)");
        return;
    }
    let out = std::process::Command::new("node")
        .args(["--test", "--test-concurrency=1", "tests/typescript/"])
        .current_dir(root)
        .env("WIRECALL_SPEC_SERVER", process::example("spec_server"))
        .env("WIRECALL_TICKER", process::example("ticker"))
        .output()
        .expect("node runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(out.status.success(), "the TypeScript client's tests failed:\n{report}");
    // The run must have run tests, not found none.
    assert!(report.contains("# pass") && !report.contains("# pass 0"), "{report}");
}
