#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "a")]
    async fn a(&self) -> Result<u8, wirecall::ErrorObject>;

    #[method(name = "b", aliases = ["a"])]
    async fn b(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
