#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "a", item = u8)]
    async fn a(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
