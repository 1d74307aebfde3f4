//! Instructions per operation on each server, counted by valgrind's
//! callgrind: repeatable to about a percent on a busy machine, where wall
//! time and 10 ms CPU ticks are not. Each server runs under callgrind; for
//! each operation the bare client warms up, zeroes the counters
//! (`callgrind_control -z`), runs N operations with every answer checked,
//! dumps (`callgrind_control -d`) and reads the dump's total. The totals
//! hold every thread of the server process, runtime and all.

use std::path::{Path, PathBuf};
use std::process::Command;

use futures_util::StreamExt;

use crate::bare::{self, Socket};
use crate::frames::{self, Pushed};
use crate::servers::Kind;
use crate::ServerProcess;

/// How many operations each count covers.
pub(crate) struct Ops {
    /// Keep the dumps for `callgrind_annotate` instead of deleting them.
    keep: bool,
    seq: u64,
    batches: u64,
    items: u64,
    fan_conns: usize,
    fan_subs: usize,
    publishes: u64,
}

/// `--quick` counts fewer operations (a test runs it); `--keep` keeps the
/// dumps (one per operation and server, in order) for `callgrind_annotate`.
pub(crate) fn options(args: &[String]) -> Result<Ops, String> {
    let keep = args.iter().any(|a| a == "--keep");
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--keep")
        .collect();
    match args[..] {
        [] => Ok(Ops {
            keep,
            seq: 2_000,
            batches: 100,
            items: 20_000,
            fan_conns: 100,
            fan_subs: 10,
            publishes: 10,
        }),
        ["--quick"] => Ok(Ops {
            keep,
            seq: 100,
            batches: 5,
            items: 1_000,
            fan_conns: 10,
            fan_subs: 5,
            publishes: 2,
        }),
        _ => Err("usage: rpc-bench instructions [--quick] [--keep]".into()),
    }
}

/// The operations counted, in the order they run.
const OPERATIONS: [&str; 4] = [
    "seq call",
    "call in a batch of 100",
    "subscription item",
    "fan-out delivery",
];

pub(crate) async fn run(ops: Ops) -> Result<(), String> {
    for tool in ["valgrind", "callgrind_control"] {
        let found = Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Err(format!(
                "{tool} is not installed (apt-get install valgrind)"
            ));
        }
    }
    let dir = std::env::temp_dir().join(format!("rpc-bench-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
    let kinds = [
        Kind::Raw,
        Kind::Jsonrpsee,
        Kind::Wirecall,
        Kind::WirecallLayers,
    ];
    let mut counts = Vec::new();
    for kind in kinds {
        let counted = count_server(kind, &ops, &dir).await;
        counts.push(counted?);
    }
    print_table(&kinds, &counts, &ops);
    if ops.keep {
        println!("dumps kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// Counts every operation against one server under callgrind.
async fn count_server(kind: Kind, ops: &Ops, dir: &Path) -> Result<[Option<f64>; 4], String> {
    let out = dir.join(format!("{}.%p", kind.name()));
    let out_flag = format!("--callgrind-out-file={}", out.display());
    // Each dump names its functions in full, so one dump alone can be
    // read by callgrind_annotate (compressed names refer back to the
    // first dump that used them).
    let server = ServerProcess::start_with(
        kind,
        &[
            "valgrind",
            "-q",
            "--tool=callgrind",
            "--compress-strings=no",
            &out_flag,
        ],
    );
    let url = format!("ws://{}/", server.addr);
    let counter = Counter {
        pid: server.child.id(),
        prefix: dir.join(format!("{}.{}.", kind.name(), server.child.id())),
    };
    let echo = kind == Kind::Raw;
    let mut socket = bare::connect(&url).await?;
    seq(&mut socket, 1, ops.seq / 10, echo).await?;
    counter.zero()?;
    seq(&mut socket, 1_000_000, ops.seq, echo).await?;
    let seq_call = counter.dump()? / ops.seq as f64;

    batches(&mut socket, 2_000_000, ops.batches / 5 + 1, echo).await?;
    counter.zero()?;
    batches(&mut socket, 3_000_000, ops.batches, echo).await?;
    let batch_call = counter.dump()? / (ops.batches * 100) as f64;
    if echo {
        return Ok([Some(seq_call), Some(batch_call), None, None]);
    }

    items(&mut socket, 10, ops.items / 10).await?;
    counter.zero()?;
    items(&mut socket, 11, ops.items).await?;
    let item = counter.dump()? / ops.items as f64;

    let mut subscribers = Vec::with_capacity(ops.fan_conns);
    for _ in 0..ops.fan_conns {
        let mut subscriber = bare::connect(&url).await?;
        for id in 1..=ops.fan_subs as u64 {
            send(&mut subscriber, frames::call(id, "subscribe_topic", "[]")).await?;
            expect_answer(&mut subscriber, id).await?;
        }
        subscribers.push(subscriber);
    }
    publish(&mut socket, &mut subscribers, ops.fan_subs, 20).await?;
    counter.zero()?;
    for n in 0..ops.publishes {
        publish(&mut socket, &mut subscribers, ops.fan_subs, 21 + n).await?;
    }
    let deliveries = ops.publishes * (ops.fan_conns * ops.fan_subs) as u64;
    let delivery = counter.dump()? / deliveries as f64;
    Ok([Some(seq_call), Some(batch_call), Some(item), Some(delivery)])
}

/// Zeroes and dumps one server's counters.
struct Counter {
    pid: u32,
    /// Dumps are `<prefix>1`, `<prefix>2`, … in order.
    prefix: PathBuf,
}

impl Counter {
    fn control(&self, flag: &str) -> Result<(), String> {
        let status = Command::new("callgrind_control")
            .args([flag, &self.pid.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map_err(|err| format!("callgrind_control: {err}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("callgrind_control {flag} failed: {status}"))
        }
    }

    fn zero(&self) -> Result<(), String> {
        self.control("-z")
    }

    /// Dumps and returns the instructions counted since the last zero.
    fn dump(&self) -> Result<f64, String> {
        self.control("-d")?;
        // Far more dumps than a run makes.
        let newest = (1..10_000)
            .map(|n| PathBuf::from(format!("{}{n}", self.prefix.display())))
            .take_while(|path| path.exists())
            .last()
            .ok_or("callgrind wrote no dump")?;
        let text = std::fs::read_to_string(&newest)
            .map_err(|err| format!("{}: {err}", newest.display()))?;
        text.lines()
            .find_map(|line| {
                line.strip_prefix("summary:")
                    .or_else(|| line.strip_prefix("totals:"))
            })
            .and_then(|total| total.split_whitespace().next()?.parse().ok())
            .ok_or(format!("no total in {}", newest.display()))
    }
}

async fn send(socket: &mut Socket, frame: String) -> Result<(), String> {
    futures_util::SinkExt::send(socket, tokio_tungstenite::tungstenite::Message::text(frame))
        .await
        .map_err(|err| format!("send failed: {err}"))
}

async fn next_text(socket: &mut Socket) -> Result<String, String> {
    match tokio::time::timeout(std::time::Duration::from_secs(60), socket.next()).await {
        Ok(Some(Ok(message))) if message.is_text() => message
            .into_text()
            .map(|t| t.as_str().to_owned())
            .map_err(|e| e.to_string()),
        Ok(other) => Err(format!("the connection ended: {other:?}")),
        Err(_) => Err("no frame within 60 s".into()),
    }
}

async fn expect_answer(socket: &mut Socket, id: u64) -> Result<(), String> {
    match frames::pushed(&next_text(socket).await?)? {
        Pushed::Answer { id: got, ok: true } if got == id => Ok(()),
        other => Err(format!("call {id} was answered with {other:?}")),
    }
}

/// `count` sequential `add` calls with ids from `first`, each checked.
async fn seq(socket: &mut Socket, first: u64, count: u64, echo: bool) -> Result<(), String> {
    for id in first..first + count {
        send(socket, frames::add(id)).await?;
        let got = frames::check_add(&next_text(socket).await?, echo)?;
        if got != id {
            return Err(format!("call {id} was answered as {got}"));
        }
    }
    Ok(())
}

/// `count` batches of 100 `add` calls, each answer checked.
async fn batches(socket: &mut Socket, first: u64, count: u64, echo: bool) -> Result<(), String> {
    for n in 0..count {
        let id = first + n * 100;
        send(socket, frames::add_batch(id, 100)).await?;
        let got = frames::check_add_batch(&next_text(socket).await?, 100, echo)?;
        if got != id {
            return Err(format!("batch {id} was answered as {got}"));
        }
    }
    Ok(())
}

/// Subscribes to `count` items and checks they all come, in order; then
/// one call, answered after any end notice the server sends (wirecall says
/// when a subscription ends, jsonrpsee does not).
async fn items(socket: &mut Socket, id: u64, count: u64) -> Result<(), String> {
    send(
        socket,
        frames::call(id, "subscribe_items", &format!("[{count}]")),
    )
    .await?;
    expect_answer(socket, id).await?;
    for n in 0..count {
        match frames::pushed(&next_text(socket).await?)? {
            Pushed::Item(got) if got == n => {}
            other => return Err(format!("item {n} came as {other:?}")),
        }
    }
    send(socket, frames::add(id)).await?;
    loop {
        let frame = next_text(socket).await?;
        if let Pushed::Other(_) = frames::pushed(&frame)? {
            continue;
        }
        frames::check_add(&frame, false)?;
        return Ok(());
    }
}

/// Publishes once and waits until every subscription has the item.
async fn publish(
    publisher: &mut Socket,
    subscribers: &mut [Socket],
    per_conn: usize,
    id: u64,
) -> Result<(), String> {
    send(publisher, frames::call(id, "publish", &format!("[{id}]"))).await?;
    expect_answer(publisher, id).await?;
    for subscriber in subscribers {
        for _ in 0..per_conn {
            match frames::pushed(&next_text(subscriber).await?)? {
                Pushed::Item(got) if got == id => {}
                other => return Err(format!("publish {id} reached a subscription as {other:?}")),
            }
        }
    }
    Ok(())
}

fn print_table(kinds: &[Kind], counts: &[[Option<f64>; 4]], ops: &Ops) {
    println!(
        "server instructions per operation (callgrind; {} seq calls, {} batches of 100, {} items, {} publishes to {} subscriptions):",
        ops.seq, ops.batches, ops.items, ops.publishes, ops.fan_conns * ops.fan_subs
    );
    print!("{:<26}", "operation");
    for kind in kinds {
        print!("{:>12}", kind.name());
    }
    println!(
        "{:>16}{:>20}{:>18}",
        "wirecall/raw", "wirecall/jsonrpsee", "layers/wirecall"
    );
    let cell = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0}"));
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}×", a / b),
        _ => "-".into(),
    };
    for (row, operation) in OPERATIONS.iter().enumerate() {
        print!("{operation:<26}");
        for count in counts {
            print!("{:>12}", cell(count[row]));
        }
        let (raw, jsonrpsee, wirecall) = (counts[0][row], counts[1][row], counts[2][row]);
        let layered = counts[3][row];
        println!(
            "{:>16}{:>20}{:>18}",
            ratio(wirecall, raw),
            ratio(wirecall, jsonrpsee),
            ratio(layered, wirecall)
        );
    }
}
