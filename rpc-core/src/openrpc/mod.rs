//! OpenRPC 1.3.2 service descriptions: the document model (always built),
//! its merge, and with the `openrpc` feature the builder that fills it with
//! JSON Schema Draft-07 schemas from `schemars`.
//!
//! `#[rpc(openrpc)]` writes a service's document with `DocumentBuilder`;
//! [`Router::set_openrpc`](crate::Router::set_openrpc) serves a document as
//! `rpc.discover`. Clients read one back as a [`Document`].

#[cfg(feature = "openrpc")]
mod builder;
mod document;
mod merge;

#[cfg(feature = "openrpc")]
pub use builder::DocumentBuilder;
pub use document::{
    Components, ContentDescriptor, Document, ErrorSpec, Info, Method, ParamStructure,
    SubscriptionSpec, OPENRPC_VERSION,
};
