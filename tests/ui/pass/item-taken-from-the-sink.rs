// `item = T` may be left out: `PendingSubscription<T>` names it.
use wirecall::PendingSubscription;

#[wirecall::rpc(server, client)]
pub trait Ticker {
    #[subscription(name = "ticks", unsubscribe = "stopTicks")]
    async fn ticks(&self, sink: PendingSubscription<u64>, every_ms: u64);
}

struct Impl;

impl TickerServer for Impl {
    async fn ticks(&self, sink: PendingSubscription<u64>, every_ms: u64) {
        let Ok(sink) = sink.accept() else { return };
        let _ = sink.send(&every_ms).await;
    }
}

fn main() {
    let _router = Impl.into_router();
}
