// The document describes the server and is served by `into_router()`.
#[wirecall::rpc(client, openrpc)]
pub trait Service {
    #[method(name = "a")]
    async fn a(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
