//! Each library's own client end to end: what a user of either library
//! gets. These rows compare libraries, not servers, and are kept apart from
//! the bare-client rows. Every answer is checked; close reasons are read
//! and reported as the client gives them.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonrpsee_core::client::{ClientT, SubscriptionClientT};
use jsonrpsee_core::rpc_params;
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use tokio::sync::Notify;
use wirecall::client::Client;
use wirecall::SubscriptionEvent;

use crate::measure::{self, Outcome};
use crate::servers::Kind;

/// One connection of either library's client.
#[derive(Clone)]
enum RpcClient {
    Jsonrpsee(Arc<WsClient>),
    Wirecall(Client),
}

impl RpcClient {
    async fn connect(kind: Kind, url: &str) -> Result<RpcClient, String> {
        Ok(match kind {
            Kind::Jsonrpsee => RpcClient::Jsonrpsee(Arc::new(
                WsClientBuilder::default()
                    .max_concurrent_requests(4096)
                    .build(url)
                    .await
                    .map_err(|err| format!("jsonrpsee could not connect: {err}"))?,
            )),
            _ => RpcClient::Wirecall(
                Client::connect(url)
                    .await
                    .map_err(|err| format!("wirecall could not connect: {err}"))?,
            ),
        })
    }

    /// `add(n, 1)`, checked.
    async fn add(&self, n: i64) -> Result<(), String> {
        let sum: i64 = match self {
            RpcClient::Jsonrpsee(client) => client
                .request("add", rpc_params![n, 1])
                .await
                .map_err(|err| err.to_string())?,
            RpcClient::Wirecall(client) => client
                .call("add", [n, 1])
                .await
                .map_err(|err| err.to_string())?,
        };
        if sum == n + 1 {
            Ok(())
        } else {
            Err(format!("add({n}, 1) answered {sum}"))
        }
    }
}

/// `add` `total` times on one connection, `in_flight` at a time.
pub(crate) async fn calls(
    kind: Kind,
    url: &str,
    in_flight: usize,
    total: u64,
) -> Result<Outcome, String> {
    let client = RpcClient::connect(kind, url).await?;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..in_flight)
        .map(|_| {
            let (client, next) = (client.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= total {
                        return Ok::<_, String>(latencies);
                    }
                    let start = Instant::now();
                    client.add(i64::try_from(n).unwrap_or(0)).await?;
                    latencies.push(start.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await.map_err(|err| err.to_string())??);
    }
    Ok(Outcome {
        ops: total,
        elapsed: started.elapsed(),
        latencies,
        ..Outcome::default()
    })
}

/// One subscriber takes `count` items through its library's client; how
/// the stream ended is reported as the client says it.
pub(crate) async fn subscription(kind: Kind, url: &str, count: u64) -> Result<Outcome, String> {
    let quiet = Duration::from_secs(3);
    let started = Instant::now();
    let (mut received, mut reported, mut last) = (0u64, 0u64, started);
    let mut ending = String::new();
    match RpcClient::connect(kind, url).await? {
        RpcClient::Wirecall(client) => {
            let mut items = client
                .subscribe::<u64>("subscribe_items", [count], "unsubscribe_items")
                .await
                .map_err(|err| err.to_string())?;
            while received + reported < count {
                match tokio::time::timeout(quiet, items.next()).await {
                    Ok(Some(SubscriptionEvent::Item(_))) => {
                        received += 1;
                        last = Instant::now();
                    }
                    Ok(Some(SubscriptionEvent::Lagged(n))) => reported += n,
                    Ok(other) => {
                        ending = format!("ended: {other:?}; ");
                        break;
                    }
                    Err(_) => {
                        ending = "no item for 3 s; ".into();
                        break;
                    }
                }
            }
        }
        RpcClient::Jsonrpsee(client) => {
            let mut items = client
                .subscribe::<u64, _>("subscribe_items", rpc_params![count], "unsubscribe_items")
                .await
                .map_err(|err| err.to_string())?;
            while received < count {
                match tokio::time::timeout(quiet, items.next()).await {
                    Ok(Some(Ok(_))) => {
                        received += 1;
                        last = Instant::now();
                    }
                    Ok(Some(Err(err))) => {
                        ending = format!("ended: {err}; ");
                        break;
                    }
                    Ok(None) => {
                        ending = format!("closed by the client: {:?}; ", items.close_reason());
                        break;
                    }
                    Err(_) => {
                        ending = "no item for 3 s; ".into();
                        break;
                    }
                }
            }
        }
    }
    let unaccounted = count - received - reported;
    Ok(Outcome {
        ops: received,
        elapsed: last - started,
        note: format!(
            "{ending}received {received}, reported lagged {reported}, not received {unaccounted}"
        ),
        figure: Some(unaccounted as f64),
        ..Outcome::default()
    })
}

/// `subs_per_conn` subscriptions on each of `conns` connections through the
/// library's client, then one publish; the time until all have the item.
pub(crate) async fn fan_out(
    kind: Kind,
    url: &str,
    conns: usize,
    subs_per_conn: usize,
) -> Result<Outcome, String> {
    let total = conns * subs_per_conn;
    let arrived = Arc::new(AtomicUsize::new(0));
    let all = Arc::new(Notify::new());
    let mut keep = Vec::new();
    for _ in 0..conns {
        let client = RpcClient::connect(kind, url).await?;
        for _ in 0..subs_per_conn {
            let (arrived, all) = (arrived.clone(), all.clone());
            let got_item = move || {
                if arrived.fetch_add(1, Ordering::AcqRel) + 1 == total {
                    all.notify_one();
                }
            };
            keep.push(match &client {
                RpcClient::Wirecall(client) => {
                    let mut topic = client
                        .subscribe::<u64>("subscribe_topic", (), "unsubscribe_topic")
                        .await
                        .map_err(|err| err.to_string())?;
                    tokio::spawn(async move {
                        if let Some(SubscriptionEvent::Item(7)) = topic.next().await {
                            got_item();
                        }
                        std::future::pending::<()>().await;
                    })
                }
                RpcClient::Jsonrpsee(client) => {
                    let mut topic = client
                        .subscribe::<u64, _>("subscribe_topic", rpc_params![], "unsubscribe_topic")
                        .await
                        .map_err(|err| err.to_string())?;
                    tokio::spawn(async move {
                        if let Some(Ok(7)) = topic.next().await {
                            got_item();
                        }
                        std::future::pending::<()>().await;
                    })
                }
            });
        }
        keep.push(tokio::spawn(async move {
            // Keeps the connection open until the run ends.
            std::future::pending::<()>().await;
            drop(client);
        }));
    }
    let publisher = RpcClient::connect(kind, url).await?;
    let started = Instant::now();
    // wirecall's publish answers the value, jsonrpsee's the number of receivers.
    let answer = match &publisher {
        RpcClient::Wirecall(client) => client
            .call::<u64>("publish", [7])
            .await
            .map_err(|err| err.to_string()),
        RpcClient::Jsonrpsee(client) => client
            .request::<u64, _>("publish", rpc_params![7])
            .await
            .map_err(|err| err.to_string()),
    };
    answer.map_err(|err| format!("publish failed: {err}"))?;
    let done = tokio::time::timeout(Duration::from_secs(60), all.notified()).await;
    let elapsed = started.elapsed();
    for task in keep {
        task.abort();
    }
    let got = arrived.load(Ordering::Acquire);
    measure::fan_out_outcome(got, total, elapsed, done.is_ok())
}
