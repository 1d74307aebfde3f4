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

/// A port free on 127.0.0.1 a moment ago (the server may lose it to
/// another process, so callers try again).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
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
            if let Some(server) = RedisServer::start_on(free_port()) {
                return server;
            }
        }
        panic!("redis-server did not start on any free port");
    }

    fn start_on(port: u16) -> Option<RedisServer> {
        RedisServer::spawn(port, &[])
    }

    fn spawn(port: u16, extra: &[String]) -> Option<RedisServer> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .args(["--loglevel", "warning"])
            .args(extra)
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

    /// The whole reply of `INFO section`.
    pub(crate) fn info(&self, section: &str) -> String {
        let mut socket = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        socket
            .write_all(format!("INFO {section}\r\n").as_bytes())
            .unwrap();
        let mut reply = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = socket.read(&mut chunk).unwrap();
            reply.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&reply);
            // `$<len>\r\n<len bytes>\r\n`
            if let Some((head, body)) = text.split_once("\r\n") {
                let len: usize = head.trim_start_matches('$').parse().unwrap();
                if body.len() >= len {
                    return body[..len].to_owned();
                }
            }
            assert!(n > 0, "INFO reply cut short");
        }
    }

    /// Freezes the process (SIGSTOP): it keeps its connections and data
    /// but answers nothing until [`RedisServer::resume`].
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused process run again (SIGCONT).
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a running redis-server").id();
        let status = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal} {pid} failed");
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

/// A Redis Cluster of masters only, each a `redis-server` of this test.
pub(crate) struct RedisCluster {
    nodes: Vec<RedisServer>,
    dir: std::path::PathBuf,
}

impl RedisCluster {
    /// Starts `masters` servers in cluster mode and joins them into one
    /// cluster with every slot covered.
    pub(crate) fn start(masters: usize) -> RedisCluster {
        let dir = std::env::temp_dir().join(format!(
            "wirecall-redis-cluster-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let nodes: Vec<RedisServer> = (0..masters)
            .map(|_| RedisServer::start_in_cluster(&dir))
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli runs");
        assert!(created.success(), "redis-cli --cluster create failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !nodes
            .iter()
            .all(|node| node.info_line("CLUSTER INFO", "cluster_state:").as_deref() == Some("ok"))
        {
            assert!(Instant::now() < deadline, "the cluster never became ok");
            std::thread::sleep(Duration::from_millis(100));
        }
        RedisCluster { nodes, dir }
    }

    pub(crate) fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    pub(crate) fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl RedisServer {
    fn start_in_cluster(dir: &std::path::Path) -> RedisServer {
        for _ in 0..10 {
            let port = free_port();
            let config = dir.join(format!("nodes-{port}.conf"));
            let extra = [
                "--cluster-enabled".to_owned(),
                "yes".to_owned(),
                "--cluster-config-file".to_owned(),
                config.display().to_string(),
                "--dir".to_owned(),
                dir.display().to_string(),
            ];
            if let Some(server) = RedisServer::spawn(port, &extra) {
                return server;
            }
        }
        panic!("a cluster node did not start");
    }

    /// The value after `prefix` in the reply to an INFO-like command.
    pub(crate) fn info_line(&self, command: &str, prefix: &str) -> Option<String> {
        let mut socket = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        socket.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        socket.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut reply = vec![0u8; 8192];
        let n = socket.read(&mut reply).ok()?;
        let text = String::from_utf8_lossy(&reply[..n]).into_owned();
        text.lines()
            .find_map(|line| line.strip_prefix(prefix).map(|rest| rest.trim().to_owned()))
    }
}
