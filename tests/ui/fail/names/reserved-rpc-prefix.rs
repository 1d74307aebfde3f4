#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "rpc.discover")]
    async fn discover(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
