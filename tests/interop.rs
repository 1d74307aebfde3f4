//! Interoperability with jsonrpsee 0.26, both ways, over real sockets:
//! its client against a wirecall server, and wirecall's client against a
//! jsonrpsee server — calls by position and by name, notifications,
//! batches, errors and subscriptions; over WebSocket and over plain HTTP.

#[path = "../examples/spec/service.rs"]
mod spec_service;

use jsonrpsee::server::{RpcModule, SubscriptionMessage};
use jsonrpsee_core::client::{BatchResponse, ClientT, SubscriptionClientT};
use jsonrpsee_core::params::{BatchRequestBuilder, ObjectParams};
use jsonrpsee_core::rpc_params;
use jsonrpsee_http_client::HttpClientBuilder;
use jsonrpsee_ws_client::WsClientBuilder;
use spec_service::SpecServer;
use wirecall::client::Client;
use wirecall::server::Server;
use wirecall::Batch;
use wirecall::SubscriptionEvent;

#[tokio::test]
async fn jsonrpsee_client_against_a_wirecall_server() {
    let server = Server::builder()
        .build(spec_service::SpecService.into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", server.local_addr());
    let client = WsClientBuilder::default().build(&url).await.unwrap();

    let by_position: i64 = client
        .request("subtract", rpc_params![42, 23])
        .await
        .unwrap();
    assert_eq!(by_position, 19);
    let mut named = ObjectParams::new();
    named.insert("subtrahend", 23).unwrap();
    named.insert("minuend", 42).unwrap();
    let by_name: i64 = client.request("subtract", named).await.unwrap();
    assert_eq!(by_name, 19);

    client
        .notification("notify_hello", rpc_params![7])
        .await
        .unwrap();

    let missing = client
        .request::<i64, _>("foobar", rpc_params![])
        .await
        .unwrap_err();
    match missing {
        jsonrpsee_core::ClientError::Call(err) => assert_eq!(err.code(), -32601),
        other => panic!("{other:?}"),
    }

    let mut batch = BatchRequestBuilder::new();
    batch.insert("sum", rpc_params![1, 2, 4]).unwrap();
    batch.insert("subtract", rpc_params![42, 23]).unwrap();
    batch.insert("nope", rpc_params![]).unwrap();
    let answers: BatchResponse<'_, i64> = client.batch_request(batch).await.unwrap();
    assert_eq!(answers.num_successful_calls(), 2);
    assert_eq!(answers.num_failed_calls(), 1);
    let oks: Vec<i64> = answers
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(oks, [7, 19]);

    let mut counter = client
        .subscribe::<u64, _>("subscribe_counter", rpc_params![5], "unsubscribe_counter")
        .await
        .unwrap();
    for expected in 0..5 {
        assert_eq!(counter.next().await.unwrap().unwrap(), expected);
    }
    counter.unsubscribe().await.ok();
}

fn jsonrpsee_module() -> RpcModule<()> {
    let mut module = RpcModule::new(());
    module
        .register_method("add", |params, (), _| {
            let (a, b): (i64, i64) = params.parse()?;
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(a + b)
        })
        .unwrap();
    module
        .register_method("greet", |params, (), _| {
            #[derive(serde::Deserialize)]
            struct Greet {
                name: String,
            }
            let greet: Greet = params.parse()?;
            Ok::<_, jsonrpsee::types::ErrorObjectOwned>(format!("hello {}", greet.name))
        })
        .unwrap();
    module
        .register_method("fail", |_, (), _| {
            Err::<(), _>(jsonrpsee::types::ErrorObject::owned(
                4000,
                "nope",
                Some(serde_json::json!({"why": "test"})),
            ))
        })
        .unwrap();
    module
        .register_subscription(
            "subscribe_ticks",
            "tick",
            "unsubscribe_ticks",
            |params, pending, _, _| async move {
                let count: u64 = params.one().unwrap_or(3);
                let Ok(sink) = pending.accept().await else {
                    return;
                };
                for n in 0..count {
                    let item = serde_json::value::to_raw_value(&n).unwrap();
                    if sink.send(SubscriptionMessage::from(item)).await.is_err() {
                        return;
                    }
                }
            },
        )
        .unwrap();
    module
}

#[tokio::test]
async fn wirecall_client_against_a_jsonrpsee_server() {
    let server = jsonrpsee::server::Server::builder()
        .build("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.start(jsonrpsee_module());
    let client = Client::connect(&format!("ws://{addr}/")).await.unwrap();

    assert_eq!(client.call::<i64>("add", [1, 2]).await.unwrap(), 3);
    let greeting: String = client
        .call("greet", serde_json::json!({ "name": "ada" }))
        .await
        .unwrap();
    assert_eq!(greeting, "hello ada");
    let err = client.call::<()>("fail", ()).await.unwrap_err();
    let err = err.as_rpc().unwrap();
    assert_eq!(err.code.code(), 4000);
    assert_eq!(err.message, "nope");
    assert_eq!(
        err.data_as::<serde_json::Value>().unwrap().unwrap(),
        serde_json::json!({"why": "test"})
    );
    assert_eq!(
        client
            .call::<()>("missing", ())
            .await
            .unwrap_err()
            .as_rpc()
            .unwrap()
            .code
            .code(),
        -32601
    );

    client.notify("add", [1, 1]).await.unwrap();

    let mut batch = Batch::new();
    let sum = batch.call::<i64>("add", [20, 22]).unwrap();
    let hello = batch
        .call::<String>("greet", serde_json::json!({ "name": "bob" }))
        .unwrap();
    let mut answers = client.batch(batch).await.unwrap();
    assert_eq!(answers.take(&sum).unwrap(), 42);
    assert_eq!(answers.take(&hello).unwrap(), "hello bob");

    let mut ticks = client
        .subscribe::<u64>("subscribe_ticks", [4], "unsubscribe_ticks")
        .await
        .unwrap();
    for expected in 0..4 {
        match ticks.next().await {
            Some(SubscriptionEvent::Item(n)) => assert_eq!(n, expected),
            other => panic!("{other:?}"),
        }
    }
    // jsonrpsee sends nothing when its side of a subscription ends (the
    // stream above stays open); ending one from the client works both ways.
    let open = client
        .subscribe::<u64>("subscribe_ticks", [1_000_000], "unsubscribe_ticks")
        .await
        .unwrap();
    open.unsubscribe().await.unwrap();

    handle.stop().unwrap();
    handle.stopped().await;
}

#[tokio::test]
async fn jsonrpsee_http_client_against_a_wirecall_server() {
    let server = Server::builder()
        .build(spec_service::SpecService.into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = HttpClientBuilder::default()
        .build(format!("http://{}/", server.local_addr()))
        .unwrap();

    let by_position: i64 = client
        .request("subtract", rpc_params![42, 23])
        .await
        .unwrap();
    assert_eq!(by_position, 19);
    let mut named = ObjectParams::new();
    named.insert("subtrahend", 23).unwrap();
    named.insert("minuend", 42).unwrap();
    let by_name: i64 = client.request("subtract", named).await.unwrap();
    assert_eq!(by_name, 19);
    client
        .notification("notify_hello", rpc_params![7])
        .await
        .unwrap();
    match client
        .request::<i64, _>("foobar", rpc_params![])
        .await
        .unwrap_err()
    {
        jsonrpsee_core::ClientError::Call(err) => assert_eq!(err.code(), -32601),
        other => panic!("{other:?}"),
    }
    let mut batch = BatchRequestBuilder::new();
    batch.insert("sum", rpc_params![1, 2, 4]).unwrap();
    batch.insert("subtract", rpc_params![42, 23]).unwrap();
    batch.insert("nope", rpc_params![]).unwrap();
    let answers: BatchResponse<'_, i64> = client.batch_request(batch).await.unwrap();
    let oks: Vec<i64> = answers
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(oks, [7, 19]);
    assert_eq!(answers.num_failed_calls(), 1);
    server.shutdown().await;
}

#[tokio::test]
async fn wirecall_http_client_against_a_jsonrpsee_server() {
    let server = jsonrpsee::server::Server::builder()
        .build("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.start(jsonrpsee_module());
    let client = Client::connect(&format!("http://{addr}/")).await.unwrap();

    assert_eq!(client.call::<i64>("add", [1, 2]).await.unwrap(), 3);
    let greeting: String = client
        .call("greet", serde_json::json!({ "name": "ada" }))
        .await
        .unwrap();
    assert_eq!(greeting, "hello ada");
    let err = client.call::<()>("fail", ()).await.unwrap_err();
    let err = err.as_rpc().unwrap();
    assert_eq!((err.code.code(), err.message.as_str()), (4000, "nope"));
    assert_eq!(
        err.data_as::<serde_json::Value>().unwrap().unwrap(),
        serde_json::json!({"why": "test"})
    );
    client.notify("add", [1, 1]).await.unwrap();
    let mut batch = Batch::new();
    let sum = batch.call::<i64>("add", [20, 22]).unwrap();
    let hello = batch
        .call::<String>("greet", serde_json::json!({ "name": "bob" }))
        .unwrap();
    let mut answers = client.batch(batch).await.unwrap();
    assert_eq!(answers.take(&sum).unwrap(), 42);
    assert_eq!(answers.take(&hello).unwrap(), "hello bob");
    // jsonrpsee serves no subscriptions over HTTP: the call says so.
    let refused = client
        .subscribe::<u64>("subscribe_ticks", [4], "unsubscribe_ticks")
        .await
        .unwrap_err();
    assert!(refused.as_rpc().is_some(), "{refused:?}");
    println!("jsonrpsee over HTTP answers a subscribe with: {refused}");
    // Calls go on after it.
    assert_eq!(client.call::<i64>("add", [2, 2]).await.unwrap(), 4);

    handle.stop().unwrap();
    handle.stopped().await;
}
