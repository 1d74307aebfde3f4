#[wirecall::rpc(server, client)]
pub trait Service {
    #[subscription(name = "s", unsubscribe = "u", item = u8)]
    async fn s(&self, x: u8);
}

fn main() {}
