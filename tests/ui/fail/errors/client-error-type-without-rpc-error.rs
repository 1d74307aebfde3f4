#[derive(Debug)]
pub struct Oops;

impl From<Oops> for wirecall::ErrorObject {
    fn from(_: Oops) -> wirecall::ErrorObject {
        wirecall::ErrorObject::new(1, "oops")
    }
}

#[wirecall::rpc(client)]
pub trait Service {
    #[method(name = "a")]
    async fn a(&self) -> Result<u8, Oops>;
}

fn main() {}
