//! `rpc-bench soak --minutes N`: churning clients against one wirecall
//! server for N minutes, invariants checked as they run, the server's
//! memory, open files and tasks sampled every second.
//!
//! Each churning client connects, calls, batches, subscribes (reading to
//! the end, or unsubscribing part way), then leaves gracefully, by dropping
//! its handle, or abruptly with a TCP reset; a few slow readers hold
//! endless subscriptions they read at a crawl. Every answer is checked
//! (value and count), every subscription's items must arrive in order
//! without duplicates, and any loss must be reported as a lag.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wirecall::{Batch, Client, SubscriptionEvent};

use crate::measure;

/// What the run counts, shared by every client task.
#[derive(Default)]
struct Counters {
    connects: AtomicU64,
    calls: AtomicU64,
    batches: AtomicU64,
    items: AtomicU64,
    lagged: AtomicU64,
    subscriptions: AtomicU64,
    abrupt: AtomicU64,
    failures: Mutex<Vec<String>>,
}

impl Counters {
    fn fail(&self, what: String) {
        let mut failures = self.failures.lock().unwrap();
        if failures.len() < 20 {
            eprintln!("invariant broken: {what}");
            failures.push(what);
        }
    }
}

/// One sample of the server process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss_kib: u64,
    fds: u64,
    tasks: u64,
}

/// A small deterministic generator: the soak needs variety, not secrecy.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }

    /// `below(n)` as a signed number, for call params.
    fn int_below(&mut self, n: u64) -> i64 {
        i64::try_from(self.below(n)).unwrap_or(0)
    }
}

/// Runs the soak; `Err` lists the broken invariants.
pub(crate) async fn run(
    addr: SocketAddr,
    pid: u32,
    minutes: f64,
    clients: usize,
) -> Result<(), String> {
    let url = format!("ws://{addr}/");
    let counters = Arc::new(Counters::default());
    let deadline = Instant::now() + Duration::from_secs_f64(minutes * 60.0);
    let monitor = Client::connect(&url).await.map_err(|e| e.to_string())?;
    let start = sample(pid, &monitor).await;
    let mut workers = Vec::new();
    for seed in 0..clients {
        let (url, counters) = (url.clone(), counters.clone());
        workers.push(tokio::spawn(async move {
            let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (seed as u64 + 1));
            while Instant::now() < deadline {
                churn_once(&url, addr, &counters, &mut dice).await;
            }
        }));
    }
    for _ in 0..clients.div_ceil(8).max(1) {
        let (url, counters) = (url.clone(), counters.clone());
        workers.push(tokio::spawn(slow_reader(url, counters, deadline)));
    }
    println!("second,rss_kib,fds,tasks,connects,calls,batches,items,lagged,subscriptions,abrupt");
    let (mut peak, mut last) = (start, start);
    let began = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        last = sample(pid, &monitor).await;
        peak = Sample {
            rss_kib: peak.rss_kib.max(last.rss_kib),
            fds: peak.fds.max(last.fds),
            tasks: peak.tasks.max(last.tasks),
        };
        let c = &counters;
        println!(
            "{},{},{},{},{},{},{},{},{},{},{}",
            began.elapsed().as_secs(),
            last.rss_kib,
            last.fds,
            last.tasks,
            c.connects.load(Ordering::Relaxed),
            c.calls.load(Ordering::Relaxed),
            c.batches.load(Ordering::Relaxed),
            c.items.load(Ordering::Relaxed),
            c.lagged.load(Ordering::Relaxed),
            c.subscriptions.load(Ordering::Relaxed),
            c.abrupt.load(Ordering::Relaxed),
        );
    }
    for worker in workers {
        let _ = tokio::time::timeout(Duration::from_secs(30), worker).await;
    }
    // Let the server notice the last departures, then look for leftovers.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = sample(pid, &monitor).await;
    println!(
        "soak: rss KiB start {} peak {} end {} after {}; fds start {} peak {} end {} after {}; tasks start {} peak {} end {} after {}",
        start.rss_kib, peak.rss_kib, last.rss_kib, after.rss_kib,
        start.fds, peak.fds, last.fds, after.fds,
        start.tasks, peak.tasks, last.tasks, after.tasks,
    );
    if after.fds > start.fds + 2 || after.tasks > start.tasks + 2 {
        counters.fail(format!(
            "resources left behind: fds {} -> {}, tasks {} -> {}",
            start.fds, after.fds, start.tasks, after.tasks
        ));
    }
    let failures = counters.failures.lock().unwrap();
    println!(
        "soak: {} connects, {} calls, {} batches, {} items, {} lagged, {} subscriptions, {} abrupt drops, {} broken invariants",
        counters.connects.load(Ordering::Relaxed),
        counters.calls.load(Ordering::Relaxed),
        counters.batches.load(Ordering::Relaxed),
        counters.items.load(Ordering::Relaxed),
        counters.lagged.load(Ordering::Relaxed),
        counters.subscriptions.load(Ordering::Relaxed),
        counters.abrupt.load(Ordering::Relaxed),
        failures.len(),
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

async fn sample(pid: u32, monitor: &Client) -> Sample {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count() as u64);
    let tasks = monitor.call::<u64>("tasks", ()).await.unwrap_or(0);
    Sample {
        rss_kib: measure::rss_kib(pid),
        fds,
        // Less the monitor's own connection task.
        tasks: tasks.saturating_sub(1),
    }
}

/// One client's life: connect, call, batch, subscribe, leave.
async fn churn_once(url: &str, addr: SocketAddr, counters: &Counters, dice: &mut Dice) {
    if dice.below(4) == 0 {
        return abrupt(addr, counters, dice).await;
    }
    let client = match Client::connect(url).await {
        Ok(client) => client,
        Err(err) => return counters.fail(format!("connect failed: {err}")),
    };
    counters.connects.fetch_add(1, Ordering::Relaxed);
    for _ in 0..=dice.below(20) {
        let (a, b) = (dice.int_below(1 << 20), dice.int_below(1 << 20));
        match client.call::<i64>("add", [a, b]).await {
            Ok(sum) if sum == a + b => drop(counters.calls.fetch_add(1, Ordering::Relaxed)),
            other => counters.fail(format!("add({a}, {b}) answered {other:?}")),
        }
    }
    let mut batch = Batch::new();
    let slots: Vec<_> = (0..=dice.int_below(50))
        .map(|n| (n, batch.call::<i64>("add", [n, n]).unwrap()))
        .collect();
    match client.batch(batch).await {
        Ok(mut answers) => {
            for (n, slot) in slots {
                match answers.take(&slot) {
                    Ok(sum) if sum == 2 * n => {}
                    other => counters.fail(format!("batch add({n}, {n}) answered {other:?}")),
                }
            }
            counters.batches.fetch_add(1, Ordering::Relaxed);
        }
        Err(err) => counters.fail(format!("batch failed: {err}")),
    }
    let count = 1 + dice.below(400);
    let stop_after = (dice.below(2) == 0).then(|| dice.below(count));
    subscribe(&client, counters, count, stop_after).await;
    match dice.below(2) {
        0 => client.close().await,
        _ => drop(client),
    }
}

/// Reads a subscription of `count` items, all of them or `stop_after`.
async fn subscribe(client: &Client, counters: &Counters, count: u64, stop_after: Option<u64>) {
    let mut items = match client
        .subscribe::<u64>("subscribe_items", [count], "unsubscribe_items")
        .await
    {
        Ok(items) => items,
        Err(err) => return counters.fail(format!("subscribe failed: {err}")),
    };
    counters.subscriptions.fetch_add(1, Ordering::Relaxed);
    let mut next = 0;
    loop {
        if stop_after == Some(next) {
            if let Err(err) = items.unsubscribe().await {
                counters.fail(format!("unsubscribe failed: {err}"));
            }
            return;
        }
        let event = tokio::time::timeout(Duration::from_secs(30), items.next()).await;
        match event {
            Ok(Some(SubscriptionEvent::Item(n))) if n == next => {
                next += 1;
                counters.items.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Some(SubscriptionEvent::Item(n))) => {
                return counters.fail(format!("item {n} where {next} was due"));
            }
            Ok(Some(SubscriptionEvent::Lagged(missed))) => {
                next += missed;
                counters.lagged.fetch_add(missed, Ordering::Relaxed);
            }
            Ok(Some(SubscriptionEvent::Ended)) if next == count => return,
            other => return counters.fail(format!("after {next} of {count} items: {other:?}")),
        }
    }
}

/// A raw client that subscribes, calls, and vanishes with a TCP reset.
async fn abrupt(addr: SocketAddr, counters: &Counters, dice: &mut Dice) {
    let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
        return;
    };
    #[allow(deprecated)]
    let _ = socket.set_linger(Some(Duration::ZERO));
    let Ok(tcp) = socket.connect(addr).await else {
        return counters.fail("raw connect failed".into());
    };
    let Ok((mut ws, _)) = tokio_tungstenite::client_async(format!("ws://{addr}/"), tcp).await
    else {
        return counters.fail("raw upgrade failed".into());
    };
    counters.connects.fetch_add(1, Ordering::Relaxed);
    let subscribe = r#"{"jsonrpc":"2.0","method":"subscribe_items","params":[1000000],"id":1}"#;
    let call = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":2}"#;
    if ws.send(Message::text(subscribe)).await.is_err()
        || ws.send(Message::text(call)).await.is_err()
    {
        return counters.fail("raw send failed".into());
    }
    for _ in 0..dice.below(200) {
        if ws.next().await.is_none() {
            break;
        }
    }
    counters.abrupt.fetch_add(1, Ordering::Relaxed);
    // Dropped mid-stream, without a close frame: the reset is all the server gets.
}

/// Reads an endless subscription slowly, reconnecting now and then.
async fn slow_reader(url: String, counters: Arc<Counters>, deadline: Instant) {
    while Instant::now() < deadline {
        let Ok(client) = Client::connect(&url).await else {
            counters.fail("slow reader could not connect".into());
            return;
        };
        counters.connects.fetch_add(1, Ordering::Relaxed);
        let Ok(mut items) = client
            .subscribe::<u64>("subscribe_items", [u64::MAX], "unsubscribe_items")
            .await
        else {
            counters.fail("slow reader could not subscribe".into());
            return;
        };
        let mut next = 0;
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until.min(deadline) {
            tokio::time::sleep(Duration::from_millis(5)).await;
            match items.next().await {
                Some(SubscriptionEvent::Item(n)) if n == next => next += 1,
                Some(SubscriptionEvent::Lagged(missed)) => {
                    next += missed;
                    counters.lagged.fetch_add(missed, Ordering::Relaxed);
                }
                other => {
                    counters.fail(format!("slow reader at {next}: {other:?}"));
                    break;
                }
            }
        }
        drop(items);
        client.close().await;
    }
}
