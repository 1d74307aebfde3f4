#[derive(Debug, wirecall::RpcError)]
pub enum Oops {
    #[rpc_error(code = -32601, message = "clashes with the spec")]
    Clash,
}

fn main() {}
