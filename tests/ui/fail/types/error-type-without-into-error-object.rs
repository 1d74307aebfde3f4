#[derive(Debug)]
pub struct Oops;

#[wirecall::rpc(server)]
pub trait Service {
    #[method(name = "a")]
    async fn a(&self) -> Result<u8, Oops>;
}

fn main() {}
