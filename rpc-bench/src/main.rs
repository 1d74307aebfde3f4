//! wirecall beside jsonrpsee and a bare tokio-tungstenite echo, in one run.
//!
//! `cargo run --release -p rpc-bench -- all` runs every scenario against
//! each server in a child process on 127.0.0.1 and prints one line per
//! scenario and server, then the ratios against the targets. The plain
//! scenarios drive every server with the same bare WebSocket client (the
//! `http-` ones with the same bare HTTP/1.1 keep-alive client), so they
//! compare servers; the `-client` scenarios use each library's own client
//! end to end and are printed apart. Every answer and item is checked: a
//! wrong or missing one fails the run. `--runs N` interleaves N runs,
//! rotating the order of the servers, and prints each figure's median.
//! `--quick` is a small version (a test runs it); `--only seq,batch` picks
//! scenarios; `--servers-from PATH` runs the servers from another build of
//! rpc-bench (an earlier commit's, for a before-and-after table). Each
//! server's writes are counted as it runs (see `writes/`).
//!
//! `rpc-bench instructions` counts each server's instructions per
//! operation under callgrind (see `instructions.rs`). `rpc-bench soak
//! --minutes N` churns clients against a wirecall server with invariants
//! checked live (see `soak.rs`). `rpc-bench reconnect --clients N` restarts
//! a server under N reconnecting subscribers and reports how fast they
//! resume and what they lost (see `reconnect.rs`). `rpc-bench
//! cluster-fanout [--subscriptions N]` fans one topic out over two nodes
//! sharing it through Redis, beside one node with the in-process bus (see
//! `cluster.rs`). `rpc-bench wasm-size` weighs a minimal browser app on
//! each library's wasm client (see `wasm_size.rs`). `rpc-bench serve KIND`
//! is the child.

// Measurements count far below 2^52 and convert to f64 for rates.
#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss)]

mod bare;
mod cluster;
mod frames;
mod http;
mod idle;
mod instructions;
mod measure;
mod own_client;
mod reconnect;
mod report;
mod servers;
mod soak;
mod wasm_size;
mod writes;

use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use measure::{Outcome, Summary};
use servers::Kind;

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

/// The program the servers run from: this one, or another build of
/// rpc-bench named by `--servers-from` (for before-and-after tables: the
/// same clients and checks against an earlier server).
fn server_binary() -> std::path::PathBuf {
    SERVERS_FROM
        .get()
        .cloned()
        .unwrap_or_else(|| std::env::current_exe().expect("own path"))
}

static SERVERS_FROM: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// A server in a child process; killed when dropped.
pub(crate) struct ServerProcess {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    /// Its writes, where they can be counted.
    pub(crate) writes: Option<writes::CountFile>,
}

impl ServerProcess {
    /// Starts the server with its writes counted.
    fn start(kind: Kind) -> ServerProcess {
        let counted = writes::CountFile::new();
        let env = counted.as_ref().map_or(&[][..], |(_, env)| &env[..]);
        let mut server = ServerProcess::start_with_env(kind, &[], env);
        server.writes = counted.map(|(file, _)| file);
        server
    }

    /// Starts the server under `wrapper` (e.g. valgrind and its flags).
    pub(crate) fn start_with(kind: Kind, wrapper: &[&str]) -> ServerProcess {
        ServerProcess::start_with_env(kind, wrapper, &[])
    }

    fn start_with_env(
        kind: Kind,
        wrapper: &[&str],
        env: &[(&str, std::path::PathBuf)],
    ) -> ServerProcess {
        let own = server_binary();
        let mut command = match wrapper.split_first() {
            Some((program, flags)) => {
                let mut command = Command::new(program);
                command.args(flags).arg(own);
                command
            }
            None => Command::new(own),
        };
        let mut child = command
            .envs(env.iter().map(|(key, value)| (key, value)))
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
            writes: None,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every scenario, in the order they run: first the servers compared with
/// one bare client, then each library's own client.
pub(crate) const SCENARIOS: [&str; 16] = [
    "seq",
    "concurrent",
    "multi-conn",
    "batch",
    "http-seq",
    "http-multi-conn",
    "http-batch",
    "subscription",
    "fan-out",
    "idle-small",
    "idle-large",
    "connect",
    "seq-client",
    "concurrent-client",
    "subscription-client",
    "fan-out-client",
];

/// The servers a scenario runs against; the echo cannot push or be a client.
fn kinds(scenario: &str) -> &'static [Kind] {
    match scenario {
        "subscription" | "fan-out" => &[Kind::Jsonrpsee, Kind::Wirecall],
        // The echo speaks only WebSocket.
        s if s.starts_with("http-") => &[Kind::Jsonrpsee, Kind::Wirecall],
        s if s.ends_with("-client") => &[Kind::Jsonrpsee, Kind::Wirecall],
        _ => &[Kind::Raw, Kind::Jsonrpsee, Kind::Wirecall],
    }
}

async fn run_once(kind: Kind, scenario: &str, sizes: &Sizes) -> Result<Outcome, String> {
    let server = ServerProcess::start(kind);
    let url = format!("ws://{}/", server.addr);
    let pid = server.child.id();
    let (server_before, client_before) =
        (measure::cpu_us(pid), measure::cpu_us(std::process::id()));
    let writes_before = server.writes.as_ref().map(writes::CountFile::read);
    let mut outcome = match scenario {
        "seq" => bare::calls(kind, &url, 1, 1, sizes.seq, 1).await,
        "concurrent" => bare::calls(kind, &url, 1, 64, sizes.concurrent, 1).await,
        "multi-conn" => bare::calls(kind, &url, 32, 16, sizes.multi, 1).await,
        "batch" => bare::calls(kind, &url, 1, 1, sizes.batches, 100).await,
        "http-seq" => http::calls(server.addr, 1, sizes.seq, 1).await,
        "http-multi-conn" => http::calls(server.addr, 32, sizes.multi / 16, 1).await,
        "http-batch" => http::calls(server.addr, 1, sizes.batches, 100).await,
        "subscription" => bare::subscription(&url, sizes.items).await,
        "fan-out" => bare::fan_out(&url, sizes.fan_conns, sizes.fan_subs).await,
        "idle-small" => idle::idle_memory(kind, server.addr, pid, sizes.idle[0]).await,
        "idle-large" => idle::idle_memory(kind, server.addr, pid, sizes.idle[1]).await,
        "connect" => idle::connect_rate(server.addr, sizes.connects, 8).await,
        "seq-client" => own_client::calls(kind, &url, 1, sizes.seq).await,
        "concurrent-client" => own_client::calls(kind, &url, 64, sizes.concurrent).await,
        "subscription-client" => own_client::subscription(kind, &url, sizes.items).await,
        "fan-out-client" => own_client::fan_out(kind, &url, sizes.fan_conns, sizes.fan_subs).await,
        other => Err(format!("unknown scenario {other}")),
    }
    .map_err(|failure| format!("{scenario} against {}: {failure}", kind.name()))?;
    outcome.server_cpu_us = measure::cpu_us(pid).saturating_sub(server_before);
    outcome.client_cpu_us = measure::cpu_us(std::process::id()).saturating_sub(client_before);
    if let (Some(file), Some(before)) = (&server.writes, writes_before) {
        outcome.writes = Some(file.read().since(before));
    }
    Ok(outcome)
}

/// Runs the chosen scenarios `runs` times, interleaved: each round runs
/// every scenario once against each server, in an order rotated per round
/// so that drift on a busy machine does not line up with one server.
fn run_all(runtime: &tokio::runtime::Runtime, options: &Options) -> Result<(), String> {
    let sizes = Sizes::new(options.quick);
    let chosen: Vec<&str> = SCENARIOS
        .iter()
        .copied()
        .filter(|s| options.only.iter().any(|o| o == s))
        .collect();
    let mut runs: Vec<(&str, Kind, Vec<Summary>)> = chosen
        .iter()
        .flat_map(|&scenario| {
            kinds(scenario)
                .iter()
                .map(move |&kind| (scenario, kind, Vec::new()))
        })
        .collect();
    for round in 0..options.runs.max(1) {
        for &scenario in &chosen {
            let mut order = kinds(scenario).to_vec();
            let turn = round % order.len();
            order.rotate_left(turn);
            for kind in order {
                let outcome = runtime.block_on(run_once(kind, scenario, &sizes))?;
                let slot = runs
                    .iter_mut()
                    .find(|(s, k, _)| *s == scenario && *k == kind)
                    .expect("every pair has a slot");
                slot.2.push(Summary::of(outcome));
            }
        }
    }
    let results: Vec<(&str, Kind, Summary)> = runs
        .into_iter()
        .map(|(scenario, kind, runs)| (scenario, kind, Summary::median(runs)))
        .collect();
    report::table(&results);
    report::ratios(&results);
    Ok(())
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
            "--servers-from" => {
                let path = args.next().ok_or("--servers-from takes a path")?;
                SERVERS_FROM
                    .set(path.into())
                    .map_err(|_| "--servers-from given twice")?;
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
        Some("all") => Ok(run_all(&runtime, &options(&args[1..])?)?),
        Some("instructions") => {
            let ops = instructions::options(&args[1..])?;
            runtime
                .block_on(instructions::run(ops))
                .map_err(|failure| format!("the instruction count failed: {failure}").into())
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
        Some("wasm-size") => Ok(wasm_size::run()?),
        Some("reconnect") => {
            let (clients, lose_history) = reconnect_options(&args[1..])?;
            runtime
                .block_on(reconnect::run(clients, lose_history))
                .map_err(|failures| format!("the reconnect run broke invariants:\n{failures}").into())
        }
        _ => Err("usage: rpc-bench all [--quick] [--runs N] [--only a,b] [--servers-from PATH] | rpc-bench instructions [--quick] [--keep] | rpc-bench soak [--minutes N] [--clients N] | rpc-bench reconnect [--clients N] [--lose-history] | rpc-bench cluster-fanout [--subscriptions N] | rpc-bench wasm-size | rpc-bench serve raw|jsonrpsee|wirecall".into()),
    }
}
