use wirecall::ErrorObject;

#[wirecall::rpc(server)]
pub trait OnlyServer {
    #[method(name = "a")]
    async fn a(&self) -> Result<(), ErrorObject>;
}

#[wirecall::rpc(client)]
pub trait OnlyClient {
    #[method(name = "b")]
    async fn b(&self, x: u8) -> Result<u8, ErrorObject>;
}

struct S;

impl OnlyServerServer for S {
    async fn a(&self) -> Result<(), ErrorObject> {
        Ok(())
    }
}

async fn call(client: &wirecall::client::Client) -> Result<u8, wirecall::CallError> {
    OnlyClientClient::new(client).b(1).await
}

fn main() {
    let _ = S.into_router();
    let _ = call;
}
