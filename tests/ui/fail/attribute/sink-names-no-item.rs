#[wirecall::rpc(server, client)]
pub trait Service {
    #[subscription(name = "s", unsubscribe = "u")]
    async fn s(&self, sink: wirecall::PendingSubscription);
}

fn main() {}
