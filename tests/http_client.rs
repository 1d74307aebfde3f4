//! The Rust client over plain HTTP: the generated client unchanged for
//! calls, typed errors, notifications and batches; subscriptions over
//! Server-Sent Events that end on unsubscribe and resume through cuts;
//! and what HTTP's refusals become.

#[path = "common/proxy.rs"]
mod proxy;
#[path = "common/reconnecting.rs"]
mod reconnecting;
#[path = "common/topics.rs"]
mod topics;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proxy::Proxy;
use reconnecting::{next, reconnecting, serve, wait_until};
use serde::{Deserialize, Serialize};
use wirecall::bus::{self, InProcessBus};
use wirecall::client::ConnectError;
use wirecall::{
    Batch, CallError, Client, Context, ErrorCode, ErrorObject, PendingSubscription, RpcError,
    Server, SubscriptionEvent,
};

#[derive(Debug, PartialEq, RpcError)]
enum ShopError {
    #[rpc_error(code = 4001, message = "out of stock")]
    OutOfStock { left: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Price {
    item: String,
    cents: u64,
}

#[wirecall::rpc(server, client)]
trait Shop {
    #[method(name = "price")]
    async fn price(&self, item: String) -> Result<Price, ErrorObject>;

    #[method(name = "buy", param_kind = map)]
    async fn buy(&self, item: String, count: u32) -> Result<u32, ShopError>;

    /// Calls back the client, which over HTTP cannot be called.
    #[method(name = "ask_back")]
    async fn ask_back(&self, ctx: Context) -> Result<i64, ErrorObject>;

    #[notification(name = "log")]
    async fn log(&self, line: String);

    #[subscription(name = "watch", unsubscribe = "unwatch", item = Price)]
    async fn watch(&self, sink: PendingSubscription<Price>, item: String, updates: u64);
}

#[derive(Default)]
struct ShopService {
    logged: AtomicU64,
    /// Subscriptions whose sink is open now.
    watching: Arc<AtomicU64>,
}

impl ShopServer for Arc<ShopService> {
    async fn price(&self, item: String) -> Result<Price, ErrorObject> {
        Ok(Price { item, cents: 250 })
    }

    async fn buy(&self, _item: String, count: u32) -> Result<u32, ShopError> {
        if count > 3 {
            return Err(ShopError::OutOfStock { left: 3 });
        }
        Ok(3 - count)
    }

    async fn ask_back(&self, ctx: Context) -> Result<i64, ErrorObject> {
        match ctx.peer() {
            Some(peer) => peer
                .call("anything", ())
                .await
                .map_err(ErrorObject::internal_error),
            None => Err(ErrorObject::internal_error(
                "no connection to call back over (plain HTTP)",
            )),
        }
    }

    async fn log(&self, _line: String) {
        self.logged.fetch_add(1, Ordering::SeqCst);
    }

    async fn watch(&self, sink: PendingSubscription<Price>, item: String, updates: u64) {
        if item.is_empty() {
            sink.reject(ErrorObject::invalid_params("an item is required"));
            return;
        }
        let Ok(sink) = sink.accept() else { return };
        let watching = self.watching.clone();
        watching.fetch_add(1, Ordering::SeqCst);
        for cents in 0..updates {
            let price = Price {
                item: item.clone(),
                cents,
            };
            if sink.send(&price).await.is_err() {
                break;
            }
        }
        // `updates` 0 means: stay until the client goes.
        if updates == 0 {
            sink.closed().await;
        }
        watching.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn start() -> (wirecall::ServerHandle, Arc<ShopService>, String) {
    let service = Arc::new(ShopService::default());
    let handle = Server::builder()
        .build(service.clone().into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("http://{}/", handle.local_addr());
    (handle, service, url)
}

#[tokio::test]
async fn the_generated_client_works_unchanged_over_http() {
    let (handle, service, _) = start().await;
    // Through a proxy that counts the connections made.
    let proxy = Proxy::start(handle.local_addr()).await;
    let url = proxy.url().replace("ws://", "http://");
    let client = Client::connect(&url).await.unwrap();
    let shop = ShopClient::new(client.clone());

    assert_eq!(shop.price("tea".into()).await.unwrap().cents, 250);
    assert_eq!(shop.buy("tea".into(), 2).await.unwrap(), 1);
    let err = shop.buy("tea".into(), 5).await.unwrap_err();
    assert_eq!(err.as_app(), Some(&ShopError::OutOfStock { left: 3 }));

    shop.log("one".into()).await.unwrap();
    shop.log("two".into()).await.unwrap();
    wait_until(|| service.logged.load(Ordering::SeqCst) == 2).await;

    let mut batch = Batch::new();
    let first = batch.call::<Price>("price", ["a"]).unwrap();
    let second = batch.call::<Price>("price", ["b"]).unwrap();
    batch.notify("log", ["three"]).unwrap();
    let mut answers = client.batch(batch).await.unwrap();
    assert_eq!(answers.take(&first).unwrap().item, "a");
    assert_eq!(answers.take(&second).unwrap().item, "b");

    // Two streams at once, each with its own items and its own end.
    let mut tea = shop.watch("tea".into(), 5).await.unwrap();
    let mut cake = shop.watch("cake".into(), 3).await.unwrap();
    for (stream, item, count) in [(&mut tea, "tea", 5), (&mut cake, "cake", 3)] {
        for cents in 0..count {
            match next(stream).await {
                SubscriptionEvent::Item(price) => assert_eq!(
                    price,
                    Price {
                        item: item.into(),
                        cents
                    }
                ),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(next(stream).await, SubscriptionEvent::Ended));
    }
    let rejected = shop.watch(String::new(), 1).await.unwrap_err();
    assert_eq!(rejected.as_rpc().unwrap().code, ErrorCode::InvalidParams);

    // The server cannot call a client over HTTP; the handler is told so.
    let refused = shop.ask_back().await.unwrap_err();
    assert!(refused.to_string().contains("plain HTTP"), "{refused}");

    // Requests went over a few keep-alive connections, not one each: the
    // check on connecting, one for calls, and one per stream open at once.
    let connections = proxy.accepted();
    assert!(connections <= 5, "{connections} connections");
    drop(client);
    handle.shutdown().await;
}

#[tokio::test]
async fn unsubscribing_over_http_ends_the_stream_on_the_server() {
    let (handle, service, url) = start().await;
    let shop = ShopClient::new(Client::connect(&url).await.unwrap());
    let forever = shop.watch("tea".into(), 0).await.unwrap();
    wait_until(|| service.watching.load(Ordering::SeqCst) == 1).await;
    assert_eq!(
        handle.server().connection_count(),
        1,
        "the stream holds a place"
    );
    forever.unsubscribe().await.unwrap();
    wait_until(|| service.watching.load(Ordering::SeqCst) == 0).await;
    wait_until(|| handle.server().connection_count() == 0).await;

    // Dropping a subscription ends its stream as well.
    let dropped = shop.watch("cake".into(), 0).await.unwrap();
    wait_until(|| service.watching.load(Ordering::SeqCst) == 1).await;
    drop(dropped);
    wait_until(|| service.watching.load(Ordering::SeqCst) == 0).await;
    handle.shutdown().await;
}

#[tokio::test]
async fn refusals_over_http_are_errors_that_say_what_http_said() {
    let (handle, _service, url) = start().await;
    handle.shutdown().await;
    let small = Server::builder()
        .max_message_size(256)
        .build(Arc::new(ShopService::default()).into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let shop = ShopClient::new(
        Client::connect(&format!("http://{}/", small.local_addr()))
            .await
            .unwrap(),
    );
    let err = shop.price("x".repeat(1000)).await.unwrap_err();
    let CallError::Rpc(refusal) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(refusal.code, ErrorCode::HTTP_REFUSED, "{refusal:?}");
    let data: serde_json::Value = refusal.data_as().unwrap().unwrap();
    assert_eq!(data["status"], 413, "{refusal:?}");
    // The connection carries on.
    assert_eq!(shop.price("tea".into()).await.unwrap().cents, 250);
    small.shutdown().await;

    // Nobody listens where the first server was.
    let err = Client::connect(&url).await.unwrap_err();
    assert!(matches!(err, ConnectError::Unreachable(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_over_http_resumes_through_cuts_with_every_item_once() {
    const TOTAL: u64 = 3_000;
    const CUTS: u64 = 6;
    let bus = Arc::new(InProcessBus::default().with_history(10_000, Duration::from_secs(600)));
    let server = serve(bus.clone(), "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let url = proxy.url().replace("ws://", "http://");
    let (client, _events) = reconnecting(&url, Duration::from_secs(10)).await;
    let mut stream = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .unwrap();
    let publisher = tokio::spawn({
        let bus = bus.clone();
        async move {
            for n in 0..TOTAL {
                bus::publish(&*bus, "numbers", &n).await.unwrap();
                if n % 50 == 49 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
        }
    });
    let (mut expected, mut resumed, mut cuts) = (0u64, 0u64, 0u64);
    let stride = TOTAL / (CUTS + 1);
    // A cut near the end may come after the last items reached the
    // client: its resume still follows, with no item after it.
    while expected < TOTAL || resumed < cuts {
        match next(&mut stream).await {
            SubscriptionEvent::Item(n) => {
                assert_eq!(n, expected, "an item out of order, missing or doubled");
                expected += 1;
                if cuts < CUTS && resumed == cuts && expected >= (cuts + 1) * stride {
                    proxy.cut();
                    cuts += 1;
                }
            }
            SubscriptionEvent::Resumed => resumed += 1,
            other => panic!("after {expected} items: {other:?}"),
        }
    }
    publisher.await.unwrap();
    assert_eq!((cuts, resumed), (CUTS, CUTS), "one resume per cut");
    // Calls still go through on the reconnected client.
    let sum: i64 = client.call("add", [2, 3]).await.unwrap();
    assert_eq!(sum, 5);
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_mounted_on_hyper_serves_the_http_client() {
    use hyper_util::rt::TokioIo;
    let server = Server::builder().build(Arc::new(ShopService::default()).into_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    // Another stack's accept loop: hyper serves the connection, and every
    // request goes to wirecall.
    tokio::spawn(async move {
        loop {
            let (tcp, remote) = listener.accept().await.unwrap();
            let server = server.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let server = server.clone();
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            server.serve_http(request, Some(remote)).await,
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    let shop = ShopClient::new(Client::connect(&url).await.unwrap());
    assert_eq!(shop.price("tea".into()).await.unwrap().cents, 250);
    let mut prices = shop.watch("tea".into(), 2).await.unwrap();
    assert!(matches!(next(&mut prices).await, SubscriptionEvent::Item(p) if p.cents == 0));
    assert!(matches!(next(&mut prices).await, SubscriptionEvent::Item(p) if p.cents == 1));
    assert!(matches!(next(&mut prices).await, SubscriptionEvent::Ended));
}
