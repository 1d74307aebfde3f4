#[wirecall::rpc(server, client)]
pub trait Service {
    #[methd(name = "a")]
    async fn a(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
