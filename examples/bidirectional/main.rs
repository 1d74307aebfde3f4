//! Calls in both directions over one socket: the server exposes `Shop`, the
//! client exposes `Wallet`, and while the server handles `buy` it calls the
//! client's `approve` on the same connection.
//!
//! Run it with `cargo run -p example-bidirectional`.

use wirecall::client::Client;
use wirecall::server::Server;
use wirecall::{Context, ErrorCode, ErrorObject};

/// What the server offers.
#[wirecall::rpc(server, client, namespace = "shop")]
trait Shop {
    /// Buys `item` for `price`, asking the buyer's wallet first.
    #[method(name = "buy")]
    async fn buy(&self, ctx: Context, item: String, price: u64) -> Result<String, ErrorObject>;
}

/// What the client offers back.
#[wirecall::rpc(server, client, namespace = "wallet")]
trait Wallet {
    /// Whether the wallet pays `price` for `item`.
    #[method(name = "approve")]
    async fn approve(&self, item: String, price: u64) -> Result<bool, ErrorObject>;
}

struct ShopService;

impl ShopServer for ShopService {
    async fn buy(&self, ctx: Context, item: String, price: u64) -> Result<String, ErrorObject> {
        let peer = ctx
            .peer()
            .ok_or_else(|| ErrorObject::internal_error("no connection"))?;
        let wallet = WalletClient::new(peer);
        let approved = wallet.approve(item.clone(), price).await.map_err(|err| {
            ErrorObject::internal_error(format!("the wallet did not answer: {err}"))
        })?;
        if approved {
            Ok(format!("bought {item} for {price}"))
        } else {
            Err(ErrorObject::new(
                ErrorCode::Application(402),
                format!("the wallet declined {item}"),
            ))
        }
    }
}

/// Approves anything up to a limit.
struct Budget {
    limit: u64,
}

impl WalletServer for Budget {
    async fn approve(&self, item: String, price: u64) -> Result<bool, ErrorObject> {
        let ok = price <= self.limit;
        println!(
            "  wallet: {item} for {price}? {}",
            if ok { "yes" } else { "no" }
        );
        Ok(ok)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::builder()
        .build(ShopService.into_router())
        .bind("127.0.0.1:0")
        .await?;
    let client = Client::builder()
        .router(Budget { limit: 50 }.into_router())
        .connect(&format!("ws://{}/", server.local_addr()))
        .await?;
    let shop = ShopClient::new(&client);
    println!("{}", shop.buy("book".into(), 20).await?);
    match shop.buy("bike".into(), 500).await {
        Ok(done) => println!("{done}"),
        Err(err) => println!(
            "refused: {}",
            err.as_rpc()
                .map_or_else(|| err.to_string(), |e| e.message.clone())
        ),
    }
    client.close().await;
    server.shutdown().await;
    Ok(())
}
