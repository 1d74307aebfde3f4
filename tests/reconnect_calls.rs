//! A reconnecting client over a proxy that cuts and stalls connections:
//! calls wait for the connection, only idempotent ones are sent twice,
//! closing or giving up ends everything, and headers go again each time.
//! reconnect.rs has the subscriptions.

#[path = "common/proxy.rs"]
mod proxy;
#[path = "common/reconnecting.rs"]
mod reconnecting;
#[path = "common/topics.rs"]
mod topics;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proxy::Proxy;
use reconnecting::{next, quick, reconnecting, router, serve, wait_for, wait_until};
use tokio::sync::mpsc;
use wirecall::bus::{self, InProcessBus};
use wirecall::client::ConnectionEvent;
use wirecall::{CallError, Client, ConnectionState, ErrorObject, Server, SubscriptionEvent};

#[tokio::test]
async fn closing_a_reconnecting_client_ends_its_calls_and_subscriptions() {
    let bus = Arc::new(InProcessBus::default());
    let server = serve(bus, "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (client, mut events) = reconnecting(&proxy.url(), Duration::from_secs(10)).await;
    let mut stream = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .unwrap();
    // Down and refusing: the client keeps trying until it is closed.
    proxy.refuse(true);
    proxy.cut();
    wait_for(&mut events, |e| {
        matches!(e, ConnectionEvent::AttemptFailed { .. })
    })
    .await;
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.call::<i64>("add", [1, 1]).await }
    });
    tokio::time::timeout(Duration::from_secs(5), client.close())
        .await
        .expect("close returns");
    assert!(matches!(
        client.connection_state(),
        ConnectionState::Closed(_)
    ));
    let outcome = waiting.await.unwrap();
    assert!(matches!(outcome, Err(CallError::Closed(_))), "{outcome:?}");
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Closed(_)
    ));
    assert!(stream.next().await.is_none());
}

#[tokio::test]
async fn giving_up_after_the_last_attempt_closes_the_client() {
    let bus = Arc::new(InProcessBus::default());
    let server = serve(bus, "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (events, mut received) = mpsc::unbounded_channel();
    let client = Client::builder()
        .reconnect(quick().max_attempts(3))
        .on_connection_event(move |event| drop(events.send(event.clone())))
        .connect(&proxy.url())
        .await
        .unwrap();
    proxy.refuse(true);
    proxy.cut();
    let mut failed = 0;
    let gave_up = loop {
        match wait_for(&mut received, |_| true).await {
            ConnectionEvent::AttemptFailed { error, .. } => {
                assert!(!error.is_empty());
                failed += 1;
            }
            ConnectionEvent::GaveUp(why) => break why,
            _ => {}
        }
    };
    assert_eq!(failed, 3);
    assert_eq!(client.closed().await, gave_up);
    assert!(matches!(
        client.call::<i64>("add", [1, 1]).await,
        Err(CallError::Closed(_))
    ));
}

#[wirecall::rpc(server, client)]
trait Ledger {
    /// Moves money: running it twice would move it twice.
    #[method(name = "transfer")]
    async fn transfer(&self, amount: u64) -> Result<u64, ErrorObject>;

    /// Reads the balance: safe to run again.
    #[method(name = "balance", idempotent)]
    async fn balance(&self) -> Result<u64, ErrorObject>;
}

/// Counts calls; the first call of each method hangs until its connection
/// is cut.
#[derive(Default)]
struct Books {
    transfers: AtomicU64,
    balances: AtomicU64,
    entered: Mutex<Vec<&'static str>>,
}

impl LedgerServer for Arc<Books> {
    async fn transfer(&self, amount: u64) -> Result<u64, ErrorObject> {
        self.entered.lock().unwrap().push("transfer");
        if self.transfers.fetch_add(1, Ordering::SeqCst) == 0 {
            std::future::pending::<()>().await;
        }
        Ok(amount)
    }

    async fn balance(&self) -> Result<u64, ErrorObject> {
        self.entered.lock().unwrap().push("balance");
        if self.balances.fetch_add(1, Ordering::SeqCst) == 0 {
            std::future::pending::<()>().await;
        }
        Ok(42)
    }
}

#[tokio::test]
async fn only_idempotent_calls_are_sent_again_after_a_cut() {
    let books = Arc::new(Books::default());
    let server = Server::builder()
        .build(books.clone().into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let proxy = Proxy::start(server.local_addr()).await;
    let (client, mut events) = reconnecting(&proxy.url(), Duration::from_secs(10)).await;
    let ledger = LedgerClient::new(client.clone());

    let transfer = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.transfer(10).await }
    });
    wait_until(|| books.entered.lock().unwrap().len() == 1).await;
    proxy.cut();
    let outcome = transfer.await.unwrap();
    assert!(
        matches!(outcome, Err(CallError::Disconnected(_))),
        "a transfer cut off in flight is not sent again: {outcome:?}"
    );
    wait_for(&mut events, |e| {
        matches!(e, ConnectionEvent::Reconnected { .. })
    })
    .await;

    let balance = tokio::spawn({
        let ledger = ledger.clone();
        async move { ledger.balance().await }
    });
    wait_until(|| books.entered.lock().unwrap().len() == 2).await;
    proxy.cut();
    assert_eq!(balance.await.unwrap().unwrap(), 42);
    assert_eq!(books.transfers.load(Ordering::SeqCst), 1, "sent once");
    assert_eq!(books.balances.load(Ordering::SeqCst), 2, "sent again");
    assert_eq!(
        *books.entered.lock().unwrap(),
        ["transfer", "balance", "balance"]
    );
}

#[tokio::test]
async fn a_stalled_connection_is_noticed_and_replaced() {
    let bus = Arc::new(InProcessBus::default().with_history(1_000, Duration::from_secs(600)));
    let server = serve(bus.clone(), "127.0.0.1:0").await;
    let proxy = Proxy::start(server.local_addr()).await;
    let (events, mut received) = mpsc::unbounded_channel();
    let client = Client::builder()
        .connection_config(
            wirecall::ConnectionConfig::default()
                .ping_interval(Some(Duration::from_millis(100)))
                .idle_timeout(Some(Duration::from_millis(400))),
        )
        .reconnect(quick())
        .on_connection_event(move |event| drop(events.send(event.clone())))
        .connect(&proxy.url())
        .await
        .unwrap();
    let mut stream = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .unwrap();
    bus::publish(&*bus, "numbers", &0u64).await.unwrap();
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(0)
    ));

    // Bytes stop but the socket stays open: only the idle timeout can tell.
    proxy.stall(true);
    bus::publish(&*bus, "numbers", &1u64).await.unwrap();
    wait_for(&mut received, |e| {
        matches!(e, ConnectionEvent::Disconnected(_))
    })
    .await;
    proxy.stall(false);
    wait_for(&mut received, |e| {
        matches!(e, ConnectionEvent::Reconnected { .. })
    })
    .await;
    bus::publish(&*bus, "numbers", &2u64).await.unwrap();
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Resumed
    ));
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(1)
    ));
    assert!(matches!(
        next(&mut stream).await,
        SubscriptionEvent::Item(2)
    ));
    assert!(proxy.live() <= 2);
}

#[tokio::test]
async fn headers_go_again_with_every_reconnect() {
    let admitted = Arc::new(AtomicU64::new(0));
    let counted = admitted.clone();
    let server = Server::builder()
        .handshake(move |request| {
            if request.bearer_token() == Some("ada-token") {
                counted.fetch_add(1, Ordering::SeqCst);
                Ok(wirecall::Extensions::new())
            } else {
                Err(wirecall::server::Rejection::unauthorized(
                    "a bearer token is required",
                ))
            }
        })
        .build(router(Arc::new(InProcessBus::default())))
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let proxy = Proxy::start(server.local_addr()).await;
    let (events, mut received) = mpsc::unbounded_channel();
    let client = Client::builder()
        .header("Authorization", "Bearer ada-token")
        .reconnect(quick())
        .on_connection_event(move |event| drop(events.send(event.clone())))
        .connect(&proxy.url())
        .await
        .unwrap();
    for _ in 0..3 {
        proxy.cut();
        wait_for(&mut received, |e| {
            matches!(e, ConnectionEvent::Reconnected { .. })
        })
        .await;
    }
    assert_eq!(client.call::<i64>("add", [1, 2]).await.unwrap(), 3);
    assert_eq!(
        admitted.load(Ordering::SeqCst),
        4,
        "every handshake carried the token"
    );
}
