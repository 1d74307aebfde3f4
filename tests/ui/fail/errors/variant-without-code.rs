#[derive(Debug, wirecall::RpcError)]
pub enum Oops {
    #[rpc_error(code = 1)]
    Fine,
    Forgotten,
    #[rpc_error(message = "no code")]
    Half,
}

fn main() {}
