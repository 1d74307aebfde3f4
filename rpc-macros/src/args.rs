//! The arguments of `#[rpc(...)]` itself.

use syn::parse::Parser;
use syn::{LitStr, Path};

use crate::ctxt::Ctxt;

/// What to generate and where the runtime lives.
pub(crate) struct RpcArgs {
    pub(crate) server: bool,
    pub(crate) client: bool,
    /// Write the service's OpenRPC document and serve it as `rpc.discover`.
    pub(crate) openrpc: bool,
    pub(crate) namespace: Option<String>,
    pub(crate) krate: Path,
}

/// Reads `server, client, openrpc, namespace = "...", crate = "..."`.
pub(crate) fn parse(cx: &Ctxt, tokens: proc_macro2::TokenStream) -> RpcArgs {
    let mut args = RpcArgs {
        server: false,
        client: false,
        openrpc: false,
        namespace: None,
        krate: syn::parse_quote!(::wirecall),
    };
    let mut seen: Vec<String> = Vec::new();
    let mut openrpc_at: Option<Path> = None;
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if seen.contains(&key) {
            return Err(meta.error(format!("duplicate argument `{key}`")));
        }
        seen.push(key.clone());
        match key.as_str() {
            "server" => args.server = true,
            "client" => args.client = true,
            "openrpc" => {
                args.openrpc = true;
                openrpc_at = Some(meta.path.clone());
            }
            "namespace" => {
                let value: LitStr = meta.value()?.parse()?;
                if value.value().is_empty() {
                    return Err(syn::Error::new_spanned(value, "the namespace must not be empty"));
                }
                args.namespace = Some(value.value());
            }
            "crate" => {
                let value: LitStr = meta.value()?.parse()?;
                args.krate = value.parse()?;
            }
            _ => {
                return Err(meta.error(
                    "unknown argument; expected `server`, `client`, `openrpc`, `namespace = \"...\"` or `crate = \"...\"`",
                ))
            }
        }
        Ok(())
    });
    if let Err(err) = parser.parse2(tokens) {
        cx.syn_error(err);
    }
    if !args.server && !args.client {
        args.server = true;
        args.client = true;
    }
    if let (Some(at), false) = (&openrpc_at, args.server) {
        cx.error_spanned_by(
            at,
            "`openrpc` describes the server: add `server` (the document is served by `into_router()`)",
        );
    }
    args
}
