// Three independent mistakes: all three are reported at once.
#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "a")]
    fn a(&self) -> Result<u8, wirecall::ErrorObject>;

    #[method(name = "b", colour = "red")]
    async fn b(&self) -> Result<u8, wirecall::ErrorObject>;

    #[method(name = "rpc.c")]
    async fn c(&self) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
