// With `openrpc`, every param and result needs a schema: the error points
// at the type without `JsonSchema`.
#[derive(serde::Deserialize)]
pub struct Plain;

#[wirecall::rpc(server, openrpc)]
pub trait Service {
    #[method(name = "a")]
    async fn a(&self, plain: Plain) -> Result<u8, wirecall::ErrorObject>;
}

fn main() {}
