//! The JSON-RPC 2.0 objects as Rust types, the classification of incoming
//! frames, and the encoding of outgoing ones.

mod app_error;
pub mod encode;
pub(crate) mod envelope;
mod error;
mod id;
mod json_string;
mod message;
pub(crate) mod suggest;

pub use app_error::RpcError;
pub use envelope::{Position, Resume};
pub use error::{ErrorCode, ErrorObject};
pub use id::{Id, IdError};
pub(crate) use json_string::push_json_string;
pub use message::{Incoming, Message, Notification, Request, Response};
