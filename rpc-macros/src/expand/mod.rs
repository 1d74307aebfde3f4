//! Code generation: the server trait with its router, and the client.

mod client;
mod openrpc;
mod server;

use proc_macro2::TokenStream;
use quote::quote;

use crate::args::RpcArgs;
use crate::ast::Service;

pub(crate) fn expand(args: &RpcArgs, service: &Service) -> TokenStream {
    let krate = &args.krate;
    let private = quote!(#krate::__private);
    let server = if args.server {
        server::expand(&private, service, args.openrpc)
    } else {
        TokenStream::new()
    };
    let client = if args.client {
        client::expand(&private, service)
    } else {
        TokenStream::new()
    };
    quote! {
        #server
        #client
    }
}
