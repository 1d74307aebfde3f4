//! The `#[rpc]` macro end to end over a real socket: a service with methods,
//! a notification and a subscription; params by position and by name; typed
//! application errors; and the server calling a client-side service through
//! a generated client on its `Peer`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;
use wirecall::client::Client;
use wirecall::server::Server;
use wirecall::{
    CallError, Context, ErrorCode, ErrorObject, PendingSubscription, RpcError, SubscriptionEvent,
};

#[derive(Debug, PartialEq, RpcError)]
enum BankError {
    #[rpc_error(code = 4001, message = "insufficient funds")]
    Insufficient { missing: u64 },
    #[rpc_error(code = 4002, message = "account frozen")]
    Frozen,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Balance {
    account: String,
    amount: u64,
}

#[wirecall::rpc(server, client, namespace = "bank")]
trait Bank {
    /// The balance of one account.
    #[method(name = "balance")]
    async fn balance(&self, account: String) -> Result<Balance, ErrorObject>;

    /// Moves money; named params on the wire.
    #[method(name = "withdraw", param_kind = map)]
    async fn withdraw(
        &self,
        account: String,
        #[arg(rename = "value")] amount: u64,
        memo: Option<String>,
    ) -> Result<u64, BankError>;

    #[method(name = "ping_back")]
    async fn ping_back(&self, ctx: Context, x: i64) -> Result<i64, ErrorObject>;

    #[notification(name = "audit")]
    async fn audit(&self, line: String);

    #[subscription(name = "subscribeBalance", unsubscribe = "unsubscribeBalance", item = Balance, buffer = 32)]
    async fn watch(&self, sink: PendingSubscription<Balance>, account: String, updates: u64);
}

#[wirecall::rpc(server, client)]
trait Callback {
    #[method(name = "triple")]
    async fn triple(&self, x: i64) -> Result<i64, ErrorObject>;
}

#[derive(Default)]
struct BankService {
    audits: AtomicU64,
}

impl BankServer for Arc<BankService> {
    async fn balance(&self, account: String) -> Result<Balance, ErrorObject> {
        Ok(Balance {
            account,
            amount: 100,
        })
    }

    async fn withdraw(
        &self,
        account: String,
        amount: u64,
        _memo: Option<String>,
    ) -> Result<u64, BankError> {
        if account == "frozen" {
            return Err(BankError::Frozen);
        }
        100u64
            .checked_sub(amount)
            .ok_or_else(|| BankError::Insufficient {
                missing: amount - 100,
            })
    }

    async fn ping_back(&self, ctx: Context, x: i64) -> Result<i64, ErrorObject> {
        let peer = ctx
            .peer()
            .ok_or_else(|| ErrorObject::internal_error("no peer"))?;
        CallbackClient::new(peer)
            .triple(x)
            .await
            .map_err(ErrorObject::internal_error)
    }

    async fn audit(&self, _line: String) {
        self.audits.fetch_add(1, Ordering::SeqCst);
    }

    async fn watch(&self, sink: PendingSubscription<Balance>, account: String, updates: u64) {
        if account.is_empty() {
            sink.reject(ErrorObject::invalid_params("an account is required"));
            return;
        }
        let Ok(sink) = sink.accept() else { return };
        for amount in 0..updates {
            if sink
                .send(&Balance {
                    account: account.clone(),
                    amount,
                })
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

struct Tripler;

impl CallbackServer for Tripler {
    async fn triple(&self, x: i64) -> Result<i64, ErrorObject> {
        Ok(3 * x)
    }
}

async fn start() -> (wirecall::ServerHandle, Arc<BankService>, String) {
    let service = Arc::new(BankService::default());
    let handle = Server::builder()
        .build(service.clone().into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let url = format!("ws://{}/", handle.local_addr());
    (handle, service, url)
}

#[tokio::test]
async fn typed_calls_errors_notifications_and_subscriptions() {
    let (_handle, service, url) = start().await;
    let client = Client::builder()
        .router(Tripler.into_router())
        .connect(&url)
        .await
        .unwrap();
    let bank = BankClient::new(client.clone());

    let balance = bank.balance("ada".into()).await.unwrap();
    assert_eq!(
        balance,
        Balance {
            account: "ada".into(),
            amount: 100
        }
    );
    assert_eq!(bank.withdraw("ada".into(), 30, None).await.unwrap(), 70);

    let err = bank
        .withdraw("ada".into(), 130, Some("rent".into()))
        .await
        .unwrap_err();
    // The generated client gives the server's error back as itself.
    let CallError::App(err) = err else {
        panic!("{err:?}")
    };
    assert_eq!(err, BankError::Insufficient { missing: 30 });
    let frozen = bank.withdraw("frozen".into(), 1, None).await.unwrap_err();
    assert_eq!(frozen.as_app(), Some(&BankError::Frozen));

    assert_eq!(bank.ping_back(7).await.unwrap(), 21);

    bank.audit("one".into()).await.unwrap();
    bank.audit("two".into()).await.unwrap();
    assert_eq!(bank.balance("sync".into()).await.unwrap().amount, 100);
    for _ in 0..100 {
        if service.audits.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(service.audits.load(Ordering::SeqCst), 2);

    let mut updates = bank.watch("ada".into(), 5).await.unwrap();
    for amount in 0..5 {
        match updates.next().await {
            Some(SubscriptionEvent::Item(b)) => assert_eq!(
                b,
                Balance {
                    account: "ada".into(),
                    amount
                }
            ),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        updates.next().await,
        Some(SubscriptionEvent::Ended)
    ));
    let rejected = bank.watch(String::new(), 1).await.unwrap_err();
    assert_eq!(rejected.as_rpc().unwrap().code, ErrorCode::InvalidParams);
}

#[tokio::test]
async fn the_server_takes_params_by_position_and_by_name() {
    let (_handle, _service, url) = start().await;
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let frames = [
        (
            r#"{"jsonrpc":"2.0","method":"bank_withdraw","params":["ada",10],"id":1}"#,
            "90",
        ),
        (
            r#"{"jsonrpc":"2.0","method":"bank_withdraw","params":{"value":20,"account":"ada"},"id":2}"#,
            "80",
        ),
        (
            r#"{"jsonrpc":"2.0","method":"bank_withdraw","params":{"account":"ada","value":5,"memo":"x"},"id":3}"#,
            "95",
        ),
    ];
    for (frame, expected) in frames {
        socket.send(Message::text(frame)).await.unwrap();
        let reply = loop {
            if let Some(Ok(Message::Text(text))) = socket.next().await {
                break text.as_str().to_owned();
            }
        };
        assert!(
            reply.contains(&format!(r#""result":{expected}"#)),
            "{frame} -> {reply}"
        );
    }
    socket
        .send(Message::text(r#"{"jsonrpc":"2.0","method":"bank_withdraw","params":{"amount":1,"account":"ada"},"id":4}"#))
        .await
        .unwrap();
    let reply = loop {
        if let Some(Ok(Message::Text(text))) = socket.next().await {
            break text.as_str().to_owned();
        }
    };
    assert!(
        reply.contains("-32602") && reply.contains("value"),
        "{reply}"
    );
}

#[tokio::test]
async fn services_merge_on_one_router() {
    let mut router = Arc::new(BankService::default()).into_router();
    router.merge(Tripler.into_router()).unwrap();
    let handle = Server::builder()
        .build(router)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::connect(&format!("ws://{}/", handle.local_addr()))
        .await
        .unwrap();
    assert_eq!(CallbackClient::new(&client).triple(2).await.unwrap(), 6);
    assert_eq!(
        BankClient::new(&client)
            .balance("x".into())
            .await
            .unwrap()
            .amount,
        100
    );
    let again = Arc::new(BankService::default()).into_router();
    let mut twice = Tripler.into_router();
    twice.merge(again).unwrap();
    assert!(twice.merge(Tripler.into_router()).is_err());
}

/// A type of the user's that is also named `Context`.
mod model {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    pub(crate) struct Context {
        pub(crate) depth: u32,
    }
}

#[wirecall::rpc(server, client)]
trait Layers {
    /// Takes both contexts: wirecall's, and one the caller sends.
    #[method(name = "deeper")]
    async fn deeper(&self, ctx: Context, given: model::Context) -> Result<u32, ErrorObject>;
}

struct LayersService;

impl LayersServer for LayersService {
    async fn deeper(&self, ctx: Context, given: model::Context) -> Result<u32, ErrorObject> {
        assert!(ctx.connection_id() > 0);
        Ok(given.depth + 1)
    }
}

#[tokio::test]
async fn a_user_type_named_context_is_an_ordinary_param() {
    let server = Server::builder()
        .build(LayersService.into_router())
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    let client = Client::connect(&format!("ws://{}/", server.local_addr()))
        .await
        .unwrap();
    let layers = LayersClient::new(&client);
    assert_eq!(layers.deeper(model::Context { depth: 4 }).await.unwrap(), 5);
    let by_name: u32 = client
        .call("deeper", serde_json::json!({ "given": { "depth": 1 } }))
        .await
        .unwrap();
    assert_eq!(by_name, 2);
}
