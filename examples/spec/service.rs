//! The JSON-RPC 2.0 specification's example methods, written with `#[rpc]`,
//! plus what a client in another language needs to try each kind of
//! exchange: a counter subscription, a typed error and a call back to the
//! caller. Served by `spec_server.rs`; the conformance tests include this
//! file too.

use wirecall::{Context, ErrorObject, PendingSubscription, RpcError};

/// Why `divide` failed: a typed error, whose fields travel as its data.
#[derive(Debug, PartialEq, RpcError)]
pub(crate) enum DivideError {
    /// The divisor was zero.
    #[rpc_error(code = 1001, message = "division by zero")]
    ByZero { dividend: i64 },
}

/// The JSON-RPC 2.0 specification's examples, and a counter.
#[wirecall::rpc(server, openrpc)]
pub(crate) trait Spec {
    /// `minuend - subtrahend`.
    #[method(name = "subtract")]
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> Result<i64, ErrorObject>;

    /// `a + b + c`; `b` and `c` may be left out.
    #[method(name = "sum")]
    async fn sum(&self, a: i64, b: Option<i64>, c: Option<i64>) -> Result<i64, ErrorObject>;

    /// The spec's fixed answer, `["hello", 5]`.
    #[method(name = "get_data")]
    async fn get_data(&self) -> Result<(String, u32), ErrorObject>;

    /// Panics, to show a handler's panic answered as an internal error.
    #[method(name = "panic")]
    async fn panic(&self) -> Result<u8, ErrorObject>;

    /// Takes five numbers and does nothing.
    #[notification(name = "update")]
    async fn update(&self, a: i64, b: i64, c: i64, d: i64, e: i64);

    /// Takes a number and does nothing.
    #[notification(name = "notify_hello")]
    async fn notify_hello(&self, n: i64);

    /// Takes three numbers and does nothing.
    #[notification(name = "notify_sum")]
    async fn notify_sum(&self, a: i64, b: i64, c: i64);

    /// `dividend / divisor`, rounded toward zero; safe to send twice.
    #[method(name = "divide", idempotent)]
    async fn divide(&self, dividend: i64, divisor: i64) -> Result<i64, DivideError>;

    /// Calls the caller's own `client_answer` method with `question` and
    /// answers with its reply: a call from the server to the client.
    #[method(name = "ask_client")]
    async fn ask_client(&self, ctx: Context, question: String) -> Result<String, ErrorObject>;

    /// Pushes the integers `0..n` as `counter` notifications, then ends.
    #[subscription(name = "subscribe_counter", unsubscribe = "unsubscribe_counter", notification = "counter", item = u64)]
    async fn counter(&self, sink: PendingSubscription<u64>, n: u64);
}

pub(crate) struct SpecService;

impl SpecServer for SpecService {
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> Result<i64, ErrorObject> {
        Ok(minuend - subtrahend)
    }

    async fn sum(&self, a: i64, b: Option<i64>, c: Option<i64>) -> Result<i64, ErrorObject> {
        Ok(a + b.unwrap_or(0) + c.unwrap_or(0))
    }

    async fn get_data(&self) -> Result<(String, u32), ErrorObject> {
        Ok(("hello".into(), 5))
    }

    async fn panic(&self) -> Result<u8, ErrorObject> {
        std::panic::panic_any("a deliberate panic")
    }

    async fn divide(&self, dividend: i64, divisor: i64) -> Result<i64, DivideError> {
        dividend
            .checked_div(divisor)
            .ok_or(DivideError::ByZero { dividend })
    }

    async fn ask_client(&self, ctx: Context, question: String) -> Result<String, ErrorObject> {
        let peer = ctx
            .peer()
            .ok_or_else(|| ErrorObject::internal_error("no connection to ask"))?;
        peer.call::<String>("client_answer", [question])
            .await
            .map_err(|err| ErrorObject::internal_error(format!("the client did not answer: {err}")))
    }

    async fn update(&self, _: i64, _: i64, _: i64, _: i64, _: i64) {}

    async fn notify_hello(&self, _: i64) {}

    async fn notify_sum(&self, _: i64, _: i64, _: i64) {}

    async fn counter(&self, sink: PendingSubscription<u64>, n: u64) {
        let Ok(sink) = sink.accept() else { return };
        for i in 0..n {
            if sink.send(&i).await.is_err() {
                return;
            }
        }
    }
}
