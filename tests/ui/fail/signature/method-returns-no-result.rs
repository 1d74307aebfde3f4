#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "a")]
    async fn a(&self) -> u8;
}

fn main() {}
