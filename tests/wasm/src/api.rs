//! The service the browser test calls, as a trait whose generated client
//! runs unchanged in the browser. The server (tests/wasm.rs) serves the
//! same method names.

use wirecall::RpcError;

/// The typed error of `divide`.
#[derive(Debug, PartialEq, RpcError)]
pub enum MathError {
    /// Division by zero.
    #[rpc_error(code = 4000, message = "division by zero")]
    DivisionByZero,
}

/// What the browser calls.
#[wirecall::rpc(client)]
pub trait Probe {
    /// `minuend - subtrahend`, by position.
    #[method(name = "subtract")]
    async fn subtract(&self, minuend: i64, subtrahend: i64) -> Result<i64, wirecall::ErrorObject>;

    /// The same, by name (the server reads both shapes).
    #[method(name = "subtract_named", param_kind = map)]
    async fn subtract_by_name(
        &self,
        minuend: i64,
        subtrahend: i64,
    ) -> Result<i64, wirecall::ErrorObject>;

    /// `a / b`, refusing zero with a typed error.
    #[method(name = "divide")]
    async fn divide(&self, a: i64, b: i64) -> Result<i64, MathError>;

    /// 0, 1, 2… from the server's topic, with positions (resumable).
    #[subscription(name = "follow", unsubscribe = "unfollow", item = u64)]
    async fn follow(&self, sink: wirecall::PendingSubscription<u64>);

    /// Asks the server to restart: it answers, then goes down and comes
    /// back on the same port with a fresh topic (a new epoch).
    #[method(name = "restart")]
    async fn restart(&self) -> Result<(), wirecall::ErrorObject>;
}
