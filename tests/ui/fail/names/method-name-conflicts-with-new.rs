#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "new")]
    async fn new(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
