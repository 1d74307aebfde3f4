//! A server and a client in one program, talking over 127.0.0.1: a call by
//! position, a call by name, a batch, and a subscription that ends.
//!
//! Run it with `cargo run -p example-quickstart`.

use std::time::Duration;

use wirecall::client::Client;
use wirecall::server::Server;
use wirecall::Batch;
use wirecall::{
    Context, ErrorObject, Params, PendingSubscription, Router, SinkConfig, SubscriptionEvent,
};

fn router() -> Result<Router, wirecall::RegisterError> {
    let mut router = Router::new();
    router.method("add", |params: Params<'_>, _: &Context| {
        let mut p = params.reader()?;
        let (a, b): (i64, i64) = (p.next("a")?, p.next("b")?);
        p.finish()?;
        Ok(async move { Ok::<_, ErrorObject>(a + b) })
    })?;
    router.subscription(
        "subscribe_ticks",
        "tick",
        "unsubscribe_ticks",
        SinkConfig::default(),
        |params: Params<'_>, _: &Context, pending: PendingSubscription<u32>| {
            let count: u32 = params.reader()?.next("count")?;
            Ok(async move {
                let Ok(sink) = pending.accept() else { return };
                for tick in 0..count {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if sink.send(&tick).await.is_err() {
                        return;
                    }
                }
            })
        },
    )?;
    Ok(router)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .build(router()?)
        .bind("127.0.0.1:0")
        .await?;
    let url = format!("ws://{}/", server.local_addr());
    println!("listening on {url}");

    let client = Client::connect(&url).await?;
    let by_position: i64 = client.call("add", [1, 2]).await?;
    let by_name: i64 = client
        .call("add", serde_json::json!({ "a": 40, "b": 2 }))
        .await?;
    println!("add(1, 2) = {by_position}; add(a: 40, b: 2) = {by_name}");

    let mut batch = Batch::new();
    let first = batch.call::<i64>("add", [10, 20])?;
    let second = batch.call::<i64>("add", [100, 200])?;
    let mut answers = client.batch(batch).await?;
    println!(
        "batch: {} and {}",
        answers.take(&first)?,
        answers.take(&second)?
    );

    let mut ticks = client
        .subscribe::<u32>("subscribe_ticks", [3], "unsubscribe_ticks")
        .await?;
    while let Some(event) = ticks.next().await {
        match event {
            SubscriptionEvent::Item(tick) => println!("tick {tick}"),
            SubscriptionEvent::Lagged(missed) => println!("missed {missed} ticks"),
            SubscriptionEvent::Ended => println!("the ticks are over"),
            SubscriptionEvent::Closed(reason) => {
                println!("subscription closed: {}", reason.message);
            }
            other => println!("{other:?}"),
        }
    }

    client.close().await;
    server.shutdown().await;
    Ok(())
}
