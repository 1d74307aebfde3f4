#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(aliases = ["b"])]
    async fn a(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
