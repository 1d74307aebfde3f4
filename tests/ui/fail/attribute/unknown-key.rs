#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(nmae = "a")]
    async fn a(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
