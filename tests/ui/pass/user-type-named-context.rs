// A type of the user's named `Context`, written with its own path, is an
// ordinary parameter sent over the wire; wirecall's `Context` still works.
mod model {
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct Context {
        pub depth: u32,
    }
}

#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "depth")]
    async fn depth(&self, ctx: wirecall::Context, given: model::Context) -> Result<u32, wirecall::ErrorObject>;
}

struct Impl;

impl ServiceServer for Impl {
    async fn depth(&self, _ctx: wirecall::Context, given: model::Context) -> Result<u32, wirecall::ErrorObject> {
        Ok(given.depth)
    }
}

async fn call(client: &ServiceClient<wirecall::Client>) -> Result<u32, wirecall::CallError> {
    client.depth(model::Context { depth: 3 }).await
}

fn main() {
    let _router = Impl.into_router();
    let _ = call;
}
