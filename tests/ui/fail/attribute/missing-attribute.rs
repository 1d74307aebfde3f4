#[wirecall::rpc(server, client)]
pub trait Service {
    async fn a(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
