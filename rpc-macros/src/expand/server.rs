//! `{Trait}Server`: the trait users implement, and its `into_router`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Kind, Role, RpcMethod, Service, Subscription};

pub(super) fn expand(p: &TokenStream, service: &Service, openrpc: bool) -> TokenStream {
    let vis = &service.vis;
    let docs = &service.docs;
    let server = format_ident!("{}Server", service.ident);
    let methods = service.methods.iter().map(|m| signature(p, m));
    // Items with errors keep their signature, so an `impl` of the trait
    // sees only the macro's own error.
    let fallback = &service.fallback;
    let registrations = service.methods.iter().map(|m| registration(p, &server, m));
    let (document_fn, serve_document) = if openrpc {
        let name = super::openrpc::document_fn_name(service);
        (
            super::openrpc::document_fn(p, service),
            quote!(__router.set_openrpc(#name());),
        )
    } else {
        (TokenStream::new(), TokenStream::new())
    };
    quote! {
        #(#docs)*
        ///
        /// Implement this trait with plain `async fn`s, then serve it with
        /// [`into_router`](Self::into_router).
        #vis trait #server: #p::Send + #p::Sync + 'static {
            #(#methods)*
            #(
                #[allow(async_fn_in_trait)]
                #fallback
            )*

            /// A router that serves every method of this service; merge it
            /// with others to serve several services on one connection.
            #[allow(deprecated)]
            fn into_router(self) -> #p::Router
            where
                Self: #p::Sized,
            {
                let __service = #p::Arc::new(self);
                let mut __router = #p::Router::new();
                #(#registrations)*
                #serve_document
                __router
            }
        }

        #document_fn
    }
}

fn signature(p: &TokenStream, method: &RpcMethod) -> TokenStream {
    let attrs = &method.attrs;
    let ident = &method.ident;
    let inputs = method.args.iter().map(|arg| {
        let (name, ty) = (&arg.ident, &arg.ty);
        quote!(#name: #ty)
    });
    let output = if let Kind::Method { output, .. } = &method.kind {
        quote!(#output)
    } else {
        quote!(())
    };
    quote! {
        #(#attrs)*
        fn #ident(&self, #(#inputs),*) -> impl #p::Future<Output = #output> + #p::Send;
    }
}

/// Decodes the params, then calls the method on a shared service.
fn handler_body(
    p: &TokenStream,
    server: &syn::Ident,
    method: &RpcMethod,
    finish: &TokenStream,
) -> TokenStream {
    let ident = &method.ident;
    let decode = method.params().map(|(arg, wire)| {
        let (name, ty) = (&arg.ident, &arg.ty);
        quote_spanned!(ty.span()=> let #name: #ty = __reader.next(#wire)?;)
    });
    let needs_ctx = method.args.iter().any(|a| matches!(a.role, Role::Context));
    let ctx = needs_ctx.then(|| quote!(let __ctx = #p::Clone::clone(__ctx);));
    let call_args = method.args.iter().map(|arg| match &arg.role {
        Role::Param(_) => {
            let name = &arg.ident;
            quote!(#name)
        }
        Role::Context => quote!(__ctx),
        // Spanned so an item type that differs from `item = T` is reported here.
        Role::Sink => quote_spanned!(arg.ty.span()=> __pending),
    });
    quote! {
        let mut __reader = __params.reader()?;
        #(#decode)*
        __reader.finish()?;
        #ctx
        let __this = #p::Clone::clone(&__this);
        #p::Result::Ok(async move {
            let __output = <Self as #server>::#ident(&*__this, #(#call_args),*).await;
            #finish
        })
    }
}

fn registration(p: &TokenStream, server: &syn::Ident, method: &RpcMethod) -> TokenStream {
    let name = &method.name;
    match &method.kind {
        Kind::Method {
            aliases, output, ..
        } => {
            // Spanned so an error type without `Into<ErrorObject>` is
            // reported at the method's return type.
            let finish = quote_spanned!(output.span()=> #p::method_output(__output));
            let body = handler_body(p, server, method, &finish);
            quote! {
                {
                    let __this = #p::Clone::clone(&__service);
                    let __handler = #p::method_handler(move |__params: #p::Params<'_>, __ctx: &#p::Context| {
                        #body
                    });
                    for __name in [#name, #(#aliases),*] {
                        __router
                            .method(__name, #p::Clone::clone(&__handler))
                            .expect("#[rpc] checked that names are unique");
                    }
                }
            }
        }
        Kind::Notification => {
            let body = handler_body(
                p,
                server,
                method,
                &quote!(#p::Result::<(), #p::ErrorObject>::Ok(__output)),
            );
            quote! {
                {
                    let __this = #p::Clone::clone(&__service);
                    let __handler = #p::method_handler(move |__params: #p::Params<'_>, __ctx: &#p::Context| {
                        #body
                    });
                    __router.method(#name, __handler).expect("#[rpc] checked that names are unique");
                }
            }
        }
        Kind::Subscription(sub) => {
            let body = handler_body(p, server, method, &quote!(__output));
            let item = &sub.item;
            let config = sink_config(p, sub);
            let (notification, unsubscribe) = (&sub.notification, &sub.unsubscribe);
            quote! {
                {
                    let __this = #p::Clone::clone(&__service);
                    let __handler = #p::subscription_handler(
                        move |__params: #p::Params<'_>, __ctx: &#p::Context, __pending: #p::PendingSubscription<#item>| {
                            #body
                        },
                    );
                    __router
                        .subscription(#name, #notification, #unsubscribe, #config, __handler)
                        .expect("#[rpc] checked that names are unique");
                }
            }
        }
    }
}

fn sink_config(p: &TokenStream, sub: &Subscription) -> TokenStream {
    let buffer = sub.buffer.as_ref().map(|n| quote!(__config.buffer = #n;));
    let policy = sub.overflow.as_ref().map(|overflow| {
        let variant = match overflow.to_string().as_str() {
            "close" => quote!(Close),
            "wait" => quote!(Wait),
            _ => quote!(DropOldest),
        };
        quote!(__config.policy = #p::OverflowPolicy::#variant;)
    });
    quote! {
        {
            let mut __config = <#p::SinkConfig as #p::Default>::default();
            #buffer
            #policy
            __config
        }
    }
}
