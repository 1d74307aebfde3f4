use wirecall::{Context, ErrorObject, PendingSubscription};

#[wirecall::rpc(server, client, namespace = "svc")]
pub trait Service {
    /// Documented.
    #[method(name = "add", aliases = ["plus"])]
    async fn add(&self, a: i64, b: Option<i64>) -> Result<i64, ErrorObject>;

    #[deprecated(note = "use add")]
    #[method(name = "old_add", param_kind = map)]
    async fn old_add(&self, #[arg(rename = "x")] a: i64, ctx: Context) -> Result<i64, ErrorObject>;

    #[notification(name = "log")]
    async fn log(&self, line: String);

    #[subscription(name = "sub", unsubscribe = "unsub", item = u64, buffer = 8, overflow = close)]
    async fn sub(&self, sink: PendingSubscription<u64>, every: u64);
}

struct Impl;

impl ServiceServer for Impl {
    async fn add(&self, a: i64, b: Option<i64>) -> Result<i64, ErrorObject> {
        Ok(a + b.unwrap_or(0))
    }
    async fn old_add(&self, a: i64, _ctx: Context) -> Result<i64, ErrorObject> {
        Ok(a)
    }
    async fn log(&self, _line: String) {}
    async fn sub(&self, sink: PendingSubscription<u64>, _every: u64) {
        drop(sink);
    }
}

fn main() {
    let _router = Impl.into_router();
    let _client: Option<ServiceClient<wirecall::Peer>> = None;
}
