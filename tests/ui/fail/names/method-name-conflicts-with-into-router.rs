#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "a")]
    async fn into_router(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
