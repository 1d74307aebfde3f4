// The faulty item keeps its signature in `ServiceServer`, so the `impl`
// below gets no second error: only the macro's own.
#[wirecall::rpc(server, client)]
pub trait Service {
    #[method(name = "fine")]
    async fn fine(&self) -> Result<u8, wirecall::ErrorObject>;

    #[method(name = "not_async")]
    fn not_async(&self) -> Result<u8, wirecall::ErrorObject>;
}

struct Impl;

impl ServiceServer for Impl {
    async fn fine(&self) -> Result<u8, wirecall::ErrorObject> {
        Ok(1)
    }

    fn not_async(&self) -> Result<u8, wirecall::ErrorObject> {
        Ok(2)
    }
}

fn main() {}
