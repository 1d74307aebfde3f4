//! wirecall beside jsonrpsee and a bare tokio-tungstenite echo, in one run.
//!
//! `cargo run --release -p rpc-bench -- all` runs every scenario against
//! each server in a child process on 127.0.0.1 and prints one line per
//! scenario and server, then the ratios against the targets. `seq`,
//! `concurrent`, `multi-conn` and `batch` drive every server with the same
//! bare WebSocket client, so they compare servers; the `-client` scenarios
//! use each library's own client end to end. `--quick` is a
//! small version (a test runs it); `--runs N` takes the median of N runs;
//! `--only seq,batch` picks scenarios. `rpc-bench soak --minutes N` churns
//! clients against a wirecall server with invariants checked live (see
//! `soak.rs`). `rpc-bench reconnect --clients N` restarts a server under N
//! reconnecting subscribers and reports how fast they resume and what they
//! lost (see `reconnect.rs`). `rpc-bench cluster-fanout [--subscriptions N]`
//! fans one topic out over two nodes sharing it through Redis, beside one
//! node with the in-process bus (see `cluster.rs`). `rpc-bench serve KIND`
//! is the child.

// Measurements count far below 2^52 and convert to f64 for rates.
#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss)]

mod cluster;
mod measure;
mod reconnect;
mod report;
mod servers;
mod soak;
mod workloads;

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use measure::Outcome;
use workloads::{Caller, Kind};

/// How big each scenario is.
struct Sizes {
    seq: u64,
    concurrent: u64,
    multi: u64,
    batches: u64,
    items: u64,
    fan_conns: usize,
    fan_subs: usize,
    idle: [usize; 2],
    connects: usize,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                seq: 200,
                concurrent: 2_000,
                multi: 2_048,
                batches: 20,
                items: 5_000,
                fan_conns: 10,
                fan_subs: 10,
                idle: [100, 300],
                connects: 50,
            }
        } else {
            Sizes {
                seq: 20_000,
                concurrent: 200_000,
                multi: 204_800,
                batches: 1_000,
                items: 200_000,
                fan_conns: 1_000,
                fan_subs: 10,
                idle: [5_000, idle_large()],
                connects: 2_000,
            }
        }
    }
}

/// 50 000 idle connections, or as many as the open-file limit allows (each
/// end needs one descriptor per connection, and some machines cap it).
fn idle_large() -> usize {
    let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((50_000, 50_000));
    let allowed = usize::try_from(soft)
        .unwrap_or(usize::MAX)
        .saturating_sub(2_000);
    if allowed < 50_000 {
        println!("note: open files are capped at {soft} per process; idle-large uses {allowed} connections");
    }
    allowed.min(50_000)
}

/// A server in a child process; killed when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl ServerProcess {
    fn start(kind: Kind) -> ServerProcess {
        let mut child = Command::new(std::env::current_exe().expect("own path"))
            .args(["serve", kind.name()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the server says it is ready");
        let port: u16 = line
            .trim()
            .strip_prefix("ready ")
            .and_then(|p| p.parse().ok())
            .expect("ready PORT");
        ServerProcess {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every scenario, in the order they run.
pub(crate) const SCENARIOS: [&str; 11] = [
    "seq",
    "concurrent",
    "multi-conn",
    "batch",
    "seq-client",
    "concurrent-client",
    "subscription",
    "fan-out",
    "idle-small",
    "idle-large",
    "connect",
];

fn kinds(scenario: &str) -> &'static [Kind] {
    match scenario {
        "subscription" | "fan-out" => &[Kind::Jsonrpsee, Kind::Wirecall],
        _ => &[Kind::Raw, Kind::Jsonrpsee, Kind::Wirecall],
    }
}

async fn run_once(kind: Kind, scenario: &str, sizes: &Sizes) -> Outcome {
    let server = ServerProcess::start(kind);
    let url = format!("ws://{}/", server.addr);
    let pid = server.child.id();
    let (server_before, client_before) =
        (measure::cpu_us(pid), measure::cpu_us(std::process::id()));
    let mut outcome = match scenario {
        "seq" => workloads::calls(kind, Caller::Raw, &url, 1, 1, sizes.seq, 1).await,
        "concurrent" => workloads::calls(kind, Caller::Raw, &url, 1, 64, sizes.concurrent, 1).await,
        "multi-conn" => workloads::calls(kind, Caller::Raw, &url, 32, 16, sizes.multi, 1).await,
        "batch" => workloads::calls(kind, Caller::Raw, &url, 1, 1, sizes.batches, 100).await,
        "seq-client" => workloads::calls(kind, Caller::Own, &url, 1, 1, sizes.seq, 1).await,
        "concurrent-client" => {
            workloads::calls(kind, Caller::Own, &url, 1, 64, sizes.concurrent, 1).await
        }
        "subscription" => workloads::subscription(kind, &url, sizes.items).await,
        "fan-out" => workloads::fan_out(kind, &url, sizes.fan_conns, sizes.fan_subs).await,
        "idle-small" => workloads::idle_memory(kind, server.addr, pid, sizes.idle[0]).await,
        "idle-large" => workloads::idle_memory(kind, server.addr, pid, sizes.idle[1]).await,
        "connect" => workloads::connect_rate(server.addr, sizes.connects, 8).await,
        other => panic!("unknown scenario {other}"),
    };
    outcome.server_cpu_us = measure::cpu_us(pid).saturating_sub(server_before);
    outcome.client_cpu_us = measure::cpu_us(std::process::id()).saturating_sub(client_before);
    outcome
}

struct Options {
    quick: bool,
    runs: usize,
    only: Vec<String>,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        quick: false,
        runs: 1,
        only: SCENARIOS.iter().map(ToString::to_string).collect(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--runs" => {
                options.runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .ok_or("--runs takes a number")?;
            }
            "--only" => {
                let list = args.next().ok_or("--only takes scenario names")?;
                options.only = list.split(',').map(str::to_owned).collect();
                if let Some(bad) = options
                    .only
                    .iter()
                    .find(|s| !SCENARIOS.contains(&s.as_str()))
                {
                    return Err(format!(
                        "unknown scenario {bad}; known: {}",
                        SCENARIOS.join(", ")
                    ));
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(options)
}

/// `--minutes N` (default 1, fractions allowed) and `--clients N` (default 32).
fn soak_options(args: &[String]) -> Result<(f64, usize), String> {
    let (mut minutes, mut clients) = (1.0, 32);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = args.next().ok_or(format!("{arg} takes a number"))?;
        match arg.as_str() {
            "--minutes" => minutes = value.parse().map_err(|_| "--minutes takes a number")?,
            "--clients" => clients = value.parse().map_err(|_| "--clients takes a number")?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok((minutes, clients))
}

/// `--clients N` (default 2000) and `--lose-history`.
fn reconnect_options(args: &[String]) -> Result<(usize, bool), String> {
    let (mut clients, mut lose_history) = (2000, false);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--clients" => {
                let value = args.next().ok_or("--clients takes a number")?;
                clients = value.parse().map_err(|_| "--clients takes a number")?;
            }
            "--lose-history" => lose_history = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok((clients, lose_history))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 50 000 idle connections need that many descriptors on both ends.
    // As root the hard limit can be raised too; otherwise take what is allowed.
    if rlimit::setrlimit(rlimit::Resource::NOFILE, 200_000, 200_000).is_err() {
        let _ = rlimit::increase_nofile_limit(u64::MAX);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("serve") => runtime.block_on(servers::serve(args.get(1).map_or("", String::as_str))),
        Some("all") => {
            let options = options(&args[1..])?;
            let sizes = Sizes::new(options.quick);
            let mut results = Vec::new();
            for scenario in SCENARIOS.iter().filter(|s| options.only.iter().any(|o| o == *s)) {
                for &kind in kinds(scenario) {
                    let runs = (0..options.runs.max(1)).map(|_| runtime.block_on(run_once(kind, scenario, &sizes))).collect();
                    let mut outcome = measure::median(runs);
                    report::line(scenario, kind, &mut outcome);
                    results.push((scenario.to_string(), kind, outcome));
                }
            }
            report::ratios(&mut results);
            Ok(())
        }
        Some("soak") => {
            let (minutes, clients) = soak_options(&args[1..])?;
            let server = ServerProcess::start(Kind::Wirecall);
            let outcome = runtime.block_on(soak::run(server.addr, server.child.id(), minutes, clients));
            outcome.map_err(|failures| format!("the soak broke invariants:\n{failures}").into())
        }
        Some("cluster-fanout") => {
            let subscriptions = match args.get(1).map(String::as_str) {
                Some("--subscriptions") => args
                    .get(2)
                    .and_then(|n| n.parse().ok())
                    .ok_or("--subscriptions takes a number")?,
                Some(other) => return Err(format!("unknown flag {other}").into()),
                None => 10_000,
            };
            runtime
                .block_on(cluster::run(subscriptions))
                .map_err(|failure| format!("cluster-fanout failed: {failure}").into())
        }
        Some("reconnect") => {
            let (clients, lose_history) = reconnect_options(&args[1..])?;
            runtime
                .block_on(reconnect::run(clients, lose_history))
                .map_err(|failures| format!("the reconnect run broke invariants:\n{failures}").into())
        }
        _ => Err("usage: rpc-bench all [--quick] [--runs N] [--only a,b] | rpc-bench soak [--minutes N] [--clients N] | rpc-bench reconnect [--clients N] [--lose-history] | rpc-bench cluster-fanout [--subscriptions N] | rpc-bench serve raw|jsonrpsee|wirecall".into()),
    }
}
