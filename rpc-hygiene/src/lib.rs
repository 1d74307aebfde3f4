//! Compiles the code `#[rpc]` generates under `#![no_implicit_prelude]`,
//! with the `wirecall` crate renamed to `renamed` in Cargo.toml: generated
//! code may only name items through absolute paths and `crate = "..."`.
#![no_implicit_prelude]

/// An application error of every variant shape.
#[derive(Debug, ::renamed::RpcError)]
#[rpc_error(crate = "::renamed")]
pub enum HygieneError {
    /// No data.
    #[rpc_error(code = 1, message = "unit")]
    Unit,
    /// Data is an object.
    #[rpc_error(code = 2)]
    Named {
        /// A field.
        why: ::std::string::String,
    },
    /// Data is the value.
    #[rpc_error(code = -3, message = "one")]
    One(u32),
    /// Data is an array.
    #[rpc_error(code = 4, message = "two")]
    Two(u32, ::std::option::Option<u32>),
}

/// A service that uses every kind of item and both special parameters.
#[::renamed::rpc(server, client, openrpc, crate = "::renamed", namespace = "h")]
pub trait Hygiene {
    /// Echoes, with an optional suffix.
    #[method(name = "echo", aliases = ["h_say"])]
    async fn echo(
        &self,
        text: ::std::string::String,
        suffix: ::std::option::Option<::std::string::String>,
    ) -> ::std::result::Result<::std::string::String, ::renamed::ErrorObject>;

    /// By name on the wire.
    #[method(name = "add", param_kind = map)]
    async fn add(&self, a: u32, b: u32) -> ::std::result::Result<u32, ::renamed::ErrorObject>;

    /// Fails with a typed error.
    #[method(name = "fail")]
    async fn fail(&self, which: u32) -> ::std::result::Result<u32, HygieneError>;

    /// Fire and forget.
    #[notification(name = "note")]
    async fn note(&self, x: u32);

    /// Pushes `n` numbers.
    #[subscription(name = "count", unsubscribe = "uncount", item = u32, buffer = 4, overflow = wait)]
    async fn count(
        &self,
        sink: ::renamed::PendingSubscription<u32>,
        ctx: ::renamed::Context,
        n: u32,
    );
}

/// The implementation.
#[derive(Debug)]
pub struct Service;

impl HygieneServer for Service {
    async fn echo(
        &self,
        text: ::std::string::String,
        suffix: ::std::option::Option<::std::string::String>,
    ) -> ::std::result::Result<::std::string::String, ::renamed::ErrorObject> {
        let suffix = suffix.unwrap_or_default();
        ::std::result::Result::Ok(::std::format!("{text}{suffix}"))
    }

    async fn add(&self, a: u32, b: u32) -> ::std::result::Result<u32, ::renamed::ErrorObject> {
        ::std::result::Result::Ok(a + b)
    }

    async fn fail(&self, which: u32) -> ::std::result::Result<u32, HygieneError> {
        ::std::result::Result::Err(match which {
            0 => HygieneError::Unit,
            1 => HygieneError::Named {
                why: ::std::string::String::new(),
            },
            2 => HygieneError::One(which),
            _ => HygieneError::Two(which, ::std::option::Option::None),
        })
    }

    async fn note(&self, _x: u32) {}

    async fn count(
        &self,
        sink: ::renamed::PendingSubscription<u32>,
        _ctx: ::renamed::Context,
        n: u32,
    ) {
        if let ::std::result::Result::Ok(sink) = sink.accept() {
            for i in 0..n {
                if sink.send(&i).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The router of [`Service`].
pub fn router() -> ::renamed::Router {
    HygieneServer::into_router(Service)
}
