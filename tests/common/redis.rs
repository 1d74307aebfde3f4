//! Redis servers for tests: each test starts its own `redis-server` on a
//! free port of 127.0.0.1 (never 6379), without persistence, and the
//! process is killed when the handle is dropped.
//!
//! Without `redis-server` installed, `available()` says so; under CI
//! (`CI=true`) that is a failure (.ci/run installs Debian's redis-server).

#![allow(dead_code)] // shared by several test crates

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use std::io::{Read, Write};

/// Whether `redis-server` can be run; prints how to install it when not,
/// and fails under CI.
pub(crate) fn available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server must be installed under CI (.ci/run installs it)"
        );
        println!("skipped: redis-server is not installed (apt-get install redis-server)");
    }
    found
}

/// One `redis-server` process of this test.
pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    /// Starts a server on a free port.
    pub(crate) fn start() -> RedisServer {
        for _ in 0..10 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            if let Some(server) = RedisServer::start_on(port) {
                return server;
            }
        }
        panic!("redis-server did not start on any free port");
    }

    fn start_on(port: u16) -> Option<RedisServer> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .args(["--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs");
        let mut server = RedisServer {
            child: Some(child),
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if server.command("PING").as_deref() == Some("+PONG") {
                return Some(server);
            }
            if let Some(Ok(Some(_))) = server.child.as_mut().map(Child::try_wait) {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server.kill();
        None
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Sends one inline command and returns the first line of the reply.
    pub(crate) fn command(&self, command: &str) -> Option<String> {
        let mut socket = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        socket.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        socket.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut reply = [0u8; 512];
        let n = socket.read(&mut reply).ok()?;
        let text = String::from_utf8_lossy(&reply[..n]);
        Some(text.lines().next().unwrap_or("").to_owned())
    }

    /// Stops the process (its data is gone: there is no persistence).
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub(crate) fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(server) = RedisServer::start_on(self.port) {
                *self = server;
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("redis-server did not start again on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
