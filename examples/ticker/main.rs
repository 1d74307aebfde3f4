//! A topic published without pause, for clients to test resuming against:
//! `subscribe_ticks` follows the topic `ticks`, whose items are 1, 2, 3, …
//! — each equal to its offset in the topic — published at `--rate` items a
//! second and kept in a history of `--history` items, so a client that
//! reconnects can check that every item came exactly once, or that a gap
//! it was told of has the exact size.
//!
//! Run it with `cargo run -p example-ticker -- --listen 127.0.0.1:4000`
//! (port 0 picks a free port; `--rate 10000`, `--history 1024` are the
//! defaults). Once ready it prints `listening on ws://HOST:PORT/`. A
//! restarted process starts a new epoch.

use std::sync::Arc;
use std::time::Duration;

use wirecall::bus::{self, InProcessBus};
use wirecall::server::Server;
use wirecall::PendingSubscription;

/// A topic of ticks.
#[wirecall::rpc(server, openrpc)]
trait Ticker {
    /// The ticks from now on, or after a position when resumed: each item
    /// is its own offset.
    #[subscription(name = "subscribe_ticks", unsubscribe = "unsubscribe_ticks", notification = "tick", item = u64)]
    async fn ticks(&self, sink: PendingSubscription<u64>);
}

struct Ticks {
    bus: Arc<InProcessBus>,
}

impl TickerServer for Ticks {
    async fn ticks(&self, sink: PendingSubscription<u64>) {
        bus::follow(&*self.bus, "ticks", sink).await;
    }
}

struct Options {
    listen: String,
    rate: u64,
    history: usize,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        listen: "127.0.0.1:4000".into(),
        rate: 10_000,
        history: 1024,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => options.listen = value()?,
            "--rate" => options.rate = value()?.parse().map_err(|_| "--rate takes a number")?,
            "--history" => {
                options.history = value()?.parse().map_err(|_| "--history takes a number")?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: ticker [--listen ADDR] [--rate N] [--history N]"
                ))
            }
        }
    }
    if options.rate == 0 || options.history == 0 {
        return Err("--rate and --history must be above 0".into());
    }
    Ok(options)
}

/// Publishes 1, 2, 3, … at `rate` a second, a millisecond's share at a time.
async fn publish(bus: Arc<InProcessBus>, rate: u64) {
    let mut clock = tokio::time::interval(Duration::from_millis(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let started = tokio::time::Instant::now();
    let mut next = 1u64;
    loop {
        clock.tick().await;
        let due = started.elapsed().as_millis() as u64 * rate / 1000;
        while next <= due {
            if bus::publish(&*bus, "ticks", &next).await.is_err() {
                return;
            }
            next += 1;
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = options()?;
    let bus =
        Arc::new(InProcessBus::default().with_history(options.history, Duration::from_secs(300)));
    tokio::spawn(publish(bus.clone(), options.rate));
    let server = Server::builder()
        .build(Ticks { bus }.into_router())
        .bind(&options.listen)
        .await?;
    println!("listening on ws://{}/", server.local_addr());
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
