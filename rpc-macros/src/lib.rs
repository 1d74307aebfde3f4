//! The `#[rpc]` attribute macro of wirecall.
//!
//! Not built yet: this crate reserves its place in the workspace. Until the
//! macro lands, register handlers on `rpc_core::Router` by hand.
