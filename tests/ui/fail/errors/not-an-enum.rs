#[derive(Debug, wirecall::RpcError)]
pub struct Oops {
    why: String,
}

fn main() {}
