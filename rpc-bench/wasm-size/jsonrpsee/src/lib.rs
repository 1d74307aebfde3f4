//! The app of `wasm-size-wirecall` on jsonrpsee's wasm client: one call
//! and one subscription. Natively empty.

#![cfg(target_arch = "wasm32")]

use jsonrpsee_core::client::{ClientT, SubscriptionClientT};
use jsonrpsee_core::rpc_params;
use wasm_bindgen::prelude::wasm_bindgen;

/// Connects to `url`, calls `subtract`, and reads one item of `follow`.
#[wasm_bindgen]
pub async fn run(url: String) -> Result<String, String> {
    let client = jsonrpsee_wasm_client::WasmClientBuilder::default()
        .build(&url)
        .await
        .map_err(|err| err.to_string())?;
    let difference: i64 = client
        .request("subtract", rpc_params![42, 23])
        .await
        .map_err(|err| err.to_string())?;
    let mut numbers = client
        .subscribe::<u64, _>("follow", rpc_params![], "unfollow")
        .await
        .map_err(|err| err.to_string())?;
    let first = numbers.next().await;
    Ok(format!("{difference} {first:?}"))
}
