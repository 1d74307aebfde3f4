#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "a")]
    async fn a(self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
