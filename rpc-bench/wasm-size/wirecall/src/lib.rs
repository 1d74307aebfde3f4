//! One call and one subscription through wirecall's client, built for the
//! browser so `rpc-bench wasm-size` can weigh it. Natively empty.

#![cfg(target_arch = "wasm32")]

use wasm_bindgen::prelude::wasm_bindgen;

/// Connects to `url`, calls `subtract`, and reads one item of `follow`.
#[wasm_bindgen]
pub async fn run(url: String) -> Result<String, String> {
    let client = wirecall::Client::connect(&url)
        .await
        .map_err(|err| err.to_string())?;
    let difference: i64 = client
        .call("subtract", [42, 23])
        .await
        .map_err(|err| err.to_string())?;
    let mut numbers = client
        .subscribe::<u64>("follow", (), "unfollow")
        .await
        .map_err(|err| err.to_string())?;
    let first = numbers.next().await;
    Ok(format!("{difference} {first:?}"))
}
