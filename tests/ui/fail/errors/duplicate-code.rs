#[derive(Debug, wirecall::RpcError)]
pub enum Oops {
    #[rpc_error(code = 7)]
    First,
    #[rpc_error(code = 7)]
    Second,
}

fn main() {}
