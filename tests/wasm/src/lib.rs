//! wirecall's client in the browser: built for `wasm32-unknown-unknown`
//! and run by wasm-bindgen-test in headless Chromium against a real
//! wirecall server, which `tests/wasm.rs` starts and names at build time
//! (`WIRECALL_WASM_URL`). Natively this crate is empty.

#![cfg(target_arch = "wasm32")]

pub mod api;

#[cfg(test)]
mod tests;
