#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "a")]
    async fn a(&self, x: &str) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
