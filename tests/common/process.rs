//! Runs the example programs as separate processes, the way a user would.

// Shared by several test crates; each uses part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

/// The package of each example program (examples/*/Cargo.toml).
const PACKAGES: &[(&str, &str)] = &[
    ("chat", "example-chat"),
    ("chat_bot", "example-chat"),
    ("spec_server", "example-spec"),
    ("ticker", "example-ticker"),
    ("push_bus", "example-push-bus"),
    ("quickstart", "example-quickstart"),
    ("bidirectional", "example-bidirectional"),
];

/// The example program `name`, built (or found up to date) once per test
/// process, so an edited example is never run stale.
pub(crate) fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let deps = std::env::current_exe().expect("the test binary has a path");
    let path = deps
        .parent()
        .and_then(|p| p.parent())
        .expect("target/<profile>")
        .join(name);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !built.iter().any(|done| done == name) {
        let package = PACKAGES
            .iter()
            .find(|(program, _)| *program == name)
            .map_or_else(
                || panic!("no example program {name}"),
                |(_, package)| *package,
            );
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", package, "--bin", name])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building example {name} failed");
        built.push(name.to_owned());
    }
    path
}

/// The whole HTTP/1.1 response to `GET path` from a running example.
pub(crate) async fn http_get(addr: &str, path: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    response
}

/// A running example; killed when dropped.
pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) stdout: BufReader<ChildStdout>,
    /// What the program wrote to stderr (its last 64 KiB), kept out of the
    /// test output: some cases make it panic on purpose.
    pub(crate) stderr: Arc<Mutex<String>>,
}

impl Running {
    /// Starts example `name` with `args`, its stdout and stderr piped.
    pub(crate) fn start(name: &str, args: &[&str]) -> Running {
        let mut child = Command::new(example(name))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| panic!("starting {name}: {err}"));
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let stderr = Arc::new(Mutex::new(String::new()));
        let kept = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut kept = kept.lock().unwrap();
                kept.push_str(&line);
                kept.push('\n');
                if kept.len() > 64 << 10 {
                    let cut = kept.len() - (32 << 10);
                    let cut = (cut..kept.len())
                        .find(|i| kept.is_char_boundary(*i))
                        .unwrap();
                    kept.drain(..cut);
                }
            }
        });
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// The next line the program prints (within 60 s).
    pub(crate) async fn line(&mut self) -> String {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(60), self.stdout.read_line(&mut line))
            .await
            .expect("the program printed a line in time")
            .expect("stdout is readable");
        line
    }

    /// The `HOST:PORT` from a `listening on ...://HOST:PORT/` line.
    pub(crate) async fn listening_addr(&mut self) -> String {
        let line = self.line().await;
        let rest = line
            .split("://")
            .nth(1)
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        rest.split('/').next().unwrap().to_owned()
    }

    /// Waits (up to 60 s) for the program to exit; its status and the rest of its output.
    pub(crate) async fn finish(mut self) -> (std::process::ExitStatus, String) {
        let mut rest = String::new();
        let outcome = tokio::time::timeout(Duration::from_secs(60), async {
            self.stdout
                .read_to_string(&mut rest)
                .await
                .expect("stdout is readable");
            self.child.wait().await.expect("the program ends")
        })
        .await
        .expect("the program ended in time");
        (outcome, rest)
    }
}
