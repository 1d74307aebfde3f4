//! What the engine needs from a runtime — spawning, timers, a clock, a set
//! of tasks that ends together — from tokio natively, and in the browser
//! (`wasm32`) from the page's event loop, whose timers and tasks tokio
//! cannot drive. Every other module takes these from here, so the client
//! builds for both.

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::*;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
pub(crate) use browser::*;

/// A deadline passed before the future finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Elapsed;
