//! The `#[rpc]` attribute macro of wirecall; use it through `wirecall::rpc`,
//! whose documentation lists what it generates.

mod args;
mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod rpc_error;

use proc_macro::TokenStream;

/// Generates a typed server trait and client from a trait of `async fn`s.
/// See `wirecall::rpc` for the full description.
#[proc_macro_attribute]
pub fn rpc(args: TokenStream, input: TokenStream) -> TokenStream {
    let cx = ctxt::Ctxt::default();
    let args = args::parse(&cx, args.into());
    let item: syn::ItemTrait = match syn::parse(input) {
        Ok(item) => item,
        Err(err) => {
            let message = format!("`#[rpc]` goes on a trait: {err}");
            return syn::Error::new(err.span(), message)
                .to_compile_error()
                .into();
        }
    };
    let mut service = ast::Service::from_trait(&cx, &args, &item);
    check::service(&cx, &mut service);
    let mut output = expand::expand(&args, &service);
    if cx.has_errors() {
        output.extend(cx.into_compile_errors());
    }
    output.into()
}

/// Implements `RpcError` for an enum of application errors: each variant
/// says `#[rpc_error(code = …, message = "…")]`, and its fields become the
/// error's data. See `wirecall::RpcError`.
#[proc_macro_derive(RpcError, attributes(rpc_error))]
pub fn derive_rpc_error(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    rpc_error::derive(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
