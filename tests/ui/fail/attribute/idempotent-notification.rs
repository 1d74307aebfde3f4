#[wirecall::rpc(server, client)]
pub trait Service {
    // A notification has no answer to lose, so nothing to send again.
    #[notification(name = "log", idempotent)]
    async fn log(&self, line: String);
}

fn main() {}
