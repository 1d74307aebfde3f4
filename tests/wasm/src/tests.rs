//! The browser test: calls by position and by name, a batch, a typed
//! error, a subscription, and a server restart under that subscription:
//! it comes back `Restarted`, and a call made while the client is
//! reconnecting waits for the new connection.

use std::time::Duration;

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use wirecall::client::ReconnectPolicy;
use wirecall::{Batch, CallError, Client, ConnectionState, SubscriptionEvent};

use crate::api::{MathError, ProbeClient};

wasm_bindgen_test_configure!(run_in_browser);

/// Where tests/wasm.rs serves, fixed when this test is built.
const URL: &str = env!("WIRECALL_WASM_URL");

async fn sleep(millis: u32) {
    gloo_timers::future::TimeoutFuture::new(millis).await;
}

async fn next<T: serde::de::DeserializeOwned>(
    stream: &mut wirecall::Subscription<T>,
) -> SubscriptionEvent<T> {
    let timer = std::pin::pin!(sleep(20_000));
    match futures_select(stream.next(), timer).await {
        Some(Some(event)) => event,
        Some(None) => panic!("the subscription ended"),
        None => panic!("no event within 20 s"),
    }
}

/// The first of `event` or `timer`; `None` if the timer came first.
async fn futures_select<F: std::future::Future>(
    event: F,
    timer: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
) -> Option<F::Output> {
    use futures_util::future::{select, Either};
    match select(std::pin::pin!(event), timer).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

#[wasm_bindgen_test]
async fn the_client_in_the_browser_calls_subscribes_and_resumes_a_restart() {
    let client = Client::builder()
        .call_timeout(Duration::from_secs(15))
        .reconnect(
            ReconnectPolicy::default()
                .initial_delay(Duration::from_millis(50))
                .max_delay(Duration::from_millis(500)),
        )
        .connect(URL)
        .await
        .expect("the browser connects");
    let probe = ProbeClient::new(client.clone());

    assert_eq!(probe.subtract(42, 23).await.unwrap(), 19);
    assert_eq!(probe.subtract_by_name(42, 23).await.unwrap(), 19);

    let mut batch = Batch::new();
    let first = batch.call::<i64>("subtract", [10, 3]).unwrap();
    let second = batch.call::<i64>("divide", [10, 2]).unwrap();
    let mut answers = client.batch(batch).await.unwrap();
    assert_eq!(answers.take(&first).unwrap(), 7);
    assert_eq!(answers.take(&second).unwrap(), 5);

    match probe.divide(1, 0).await {
        Err(CallError::App(MathError::DivisionByZero)) => {}
        other => panic!("{other:?}"),
    }

    let mut numbers = probe.follow().await.unwrap();
    let mut last = None;
    while last.is_none_or(|n| n < 3) {
        match next(&mut numbers).await {
            SubscriptionEvent::Item(n) => last = Some(n),
            other => panic!("{other:?}"),
        }
    }

    probe.restart().await.unwrap();
    // Wait until the client has seen the connection go.
    let mut waited = 0;
    while client.connection_state() == ConnectionState::Connected {
        assert!(waited < 10_000, "the server never went down");
        sleep(10).await;
        waited += 10;
    }
    // Made while reconnecting, this call waits for the new connection.
    assert_eq!(probe.subtract(2, 1).await.unwrap(), 1);

    // The subscription picks up on the restarted server: a new epoch.
    let mut restarted = false;
    loop {
        match next(&mut numbers).await {
            SubscriptionEvent::Restarted => restarted = true,
            SubscriptionEvent::Item(_) if restarted => break,
            // Items of the old server still queued, before the restart.
            SubscriptionEvent::Item(_) => {}
            other => panic!("{other:?}"),
        }
    }
    client.close().await;
}
