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
    let mut error = quote!(#p::CallError);
    let mut typed = quote!(__result);
    let (output, send) = match &method.kind {
        Kind::Method {
            ok,
            idempotent,
            app_error,
            ..
        } => {
            let call = if *idempotent {
                quote!(#peer.call_idempotent(#name, __params.finish()).await)
            } else {
                quote!(#peer.call(#name, __params.finish()).await)
            };
            if let Some(app) = app_error {
                // Decoded from the error object; spanned at `E`, so a type
                // without `RpcError` is reported there.
                let at = respan(p, app.span());
                error = quote_spanned!(app.span()=> #at::CallError<#app>);
                typed = quote_spanned!(app.span()=> #at::typed_result::<_, #app>(__result));
            }
            (quote!(#ok), call)
        }
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
        #vis async fn #ident(&self, #(#inputs),*) -> #p::Result<#output, #error> {
            let __sent = async {
                let mut __params = #p::ParamsBuilder::#builder();
                #(#pushes)*
                #send
            };
            let __result = __sent.await;
            #typed
        }
    }
}

/// `tokens` with every span set to `span`, so an error about them points there.
fn respan(tokens: &TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}
