struct NotSerde;

#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "a")]
    async fn a(&self, x: NotSerde) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
