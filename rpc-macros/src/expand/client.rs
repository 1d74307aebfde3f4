//! `{Trait}Client`: typed calls over any connection handle.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Kind, RpcMethod, Service};

pub(super) fn expand(p: &TokenStream, service: &Service) -> TokenStream {
    let vis = &service.vis;
    let docs = &service.docs;
    let client = format_ident!("{}Client", service.ident);
    let methods = service.methods.iter().map(|m| method(p, vis, m));
    quote! {
        #(#docs)*
        ///
        /// The typed client: wrap a connected client, a `Peer`, or a
        /// reference to either.
        #[derive(#p::Debug, #p::Clone)]
        #vis struct #client<C> {
            inner: C,
        }

        #[allow(dead_code)]
        impl<C: #p::AsPeer> #client<C> {
            /// Wraps a connection handle.
            #vis fn new(inner: C) -> Self {
                Self { inner }
            }

            /// The wrapped connection handle.
            #vis fn inner(&self) -> &C {
                &self.inner
            }

            #(#methods)*
        }
    }
}

fn method(p: &TokenStream, vis: &syn::Visibility, method: &RpcMethod) -> TokenStream {
    let attrs = &method.attrs;
    let ident = &method.ident;
    let name = &method.name;
    let inputs = method.params().map(|(arg, _)| {
        let (name, ty) = (&arg.ident, &arg.ty);
        quote!(#name: #ty)
    });
    let pushes = method.params().map(|(arg, wire)| {
        let (name, ty) = (&arg.ident, &arg.ty);
        quote_spanned!(ty.span()=> __params.push(#wire, &#name)?;)
    });
    let builder = if method.named_params {
        quote!(named)
    } else {
        quote!(positional)
    };
    let peer = quote!(#p::AsPeer::as_peer(&self.inner));
    let (output, send) = match &method.kind {
        Kind::Method {
            ok,
            idempotent: false,
            ..
        } => (
            quote!(#ok),
            quote!(#peer.call(#name, __params.finish()).await),
        ),
        Kind::Method {
            ok,
            idempotent: true,
            ..
        } => (
            quote!(#ok),
            quote!(#peer.call_idempotent(#name, __params.finish()).await),
        ),
        Kind::Notification => (
            quote!(()),
            quote!(#peer.notify(#name, __params.finish()).await),
        ),
        Kind::Subscription(sub) => {
            let (item, unsubscribe) = (&sub.item, &sub.unsubscribe);
            (
                quote!(#p::Subscription<#item>),
                quote!(#peer.subscribe(#name, __params.finish(), #unsubscribe).await),
            )
        }
    };
    quote! {
        #(#attrs)*
        #vis async fn #ident(&self, #(#inputs),*) -> #p::Result<#output, #p::CallError> {
            let mut __params = #p::ParamsBuilder::#builder();
            #(#pushes)*
            #send
        }
    }
}
