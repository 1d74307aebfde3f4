//! The JSON-RPC 2.0 specification's fixture methods (`subtract` by position
//! and by name, `sum`, `get_data`, `update`, `notify_hello`, `notify_sum`)
//! and a `subscribe_counter(n)` subscription that pushes `0..n` as `counter`
//! notifications, served for any JSON-RPC client to test against.
//!
//! Run it with `cargo run -p example-spec -- --listen 127.0.0.1:4000`
//! (port 0 picks a free port). Once ready it prints one line,
//! `listening on ws://HOST:PORT/`; Ctrl-C stops it gracefully.

mod service;

use service::SpecServer;
use wirecall::server::Server;

fn listen_addr() -> Result<String, String> {
    let mut args = std::env::args().skip(1);
    let mut listen = "127.0.0.1:4000".to_owned();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().ok_or("--listen needs an address")?,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: spec_server [--listen ADDR]"
                ))
            }
        }
    }
    Ok(listen)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .build(service::SpecService.into_router())
        .bind(listen_addr()?)
        .await?;
    println!("listening on ws://{}/", server.local_addr());
    tokio::signal::ctrl_c().await?;
    server.shutdown().await;
    Ok(())
}
