#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "a")]
    async fn a<T: Send>(&self, x: u8) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
