//! `{trait}_openrpc()`: the service's OpenRPC document, written from the
//! trait's signatures and doc comments.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;

use crate::ast::{Kind, RpcMethod, Service};

/// The name of the document function: `Chat` → `chat_openrpc`.
pub(super) fn document_fn_name(service: &Service) -> syn::Ident {
    let name: Vec<char> = service.ident.unraw().to_string().chars().collect();
    let mut snake = String::new();
    for (i, &c) in name.iter().enumerate() {
        // A word starts at a capital after a small letter or digit, or at
        // the last capital of a run followed by a small letter: `HttpApi`
        // and `HTTPApi` both give `http_api`.
        let after_small = i > 0 && (name[i - 1].is_lowercase() || name[i - 1].is_ascii_digit());
        let ends_run = i > 0
            && name[i - 1].is_uppercase()
            && name.get(i + 1).is_some_and(|next| next.is_lowercase());
        if c.is_uppercase() && (after_small || ends_run) && !snake.ends_with('_') {
            snake.push('_');
        }
        snake.extend(c.to_lowercase());
    }
    format_ident!("{snake}_openrpc", span = service.ident.span())
}

/// The document function, beside the server trait: it needs no
/// implementation, so a test or a tool can have the document without one.
pub(super) fn document_fn(p: &TokenStream, service: &Service) -> TokenStream {
    let vis = &service.vis;
    let name = document_fn_name(service);
    let title = service.ident.unraw().to_string();
    let docs = Docs::of(&service.docs);
    let description = docs
        .full
        .or(docs.summary)
        .map(|text| quote!(__builder.description(#text);));
    let methods = service.methods.iter().map(|m| method(p, m));
    quote! {
        /// This service's OpenRPC document: its methods, their params and
        /// results with their JSON Schemas, errors and subscriptions.
        /// `into_router()` serves it as `rpc.discover`.
        #[allow(deprecated, dead_code)]
        #vis fn #name() -> #p::openrpc::Document {
            let mut __builder = #p::openrpc::DocumentBuilder::new(
                #title,
                #p::Option::unwrap_or(#p::option_env!("CARGO_PKG_VERSION"), "0.0.0"),
            );
            #description
            #(#methods)*
            __builder.finish()
        }
    }
}

fn method(p: &TokenStream, method: &RpcMethod) -> TokenStream {
    let name = &method.name;
    let docs = Docs::of(&method.attrs).assign(p, &quote!(__method));
    let deprecated = method
        .attrs
        .iter()
        .any(|a| a.path().is_ident("deprecated"))
        .then(|| quote!(__method.deprecated = true;));
    // Spanned at each type, so a type without `JsonSchema` is reported there.
    let params = method.params().map(|(arg, wire)| {
        let ty = &arg.ty;
        let param = quote_spanned!(ty.span()=> __builder.param::<#ty>(#wire));
        let docs = Docs::of(&arg.docs).assign(p, &quote!(__param));
        quote! {
            let mut __param = #param;
            #docs
            __method.params.push(__param);
        }
    });
    let head = quote! {
        let mut __method = #p::openrpc::Method::new(#name);
        #docs
        #deprecated
        #(#params)*
    };
    match &method.kind {
        Kind::Method {
            ok,
            app_error,
            aliases,
            idempotent,
            ..
        } => {
            let idempotent = idempotent.then(|| quote!(__method.idempotent = true;));
            let errors = app_error.as_ref().map(|app| {
                quote_spanned!(app.span()=> __method.errors = #p::openrpc::ErrorSpec::of::<#app>();)
            });
            let result = quote_spanned!(ok.span()=> __builder.result::<#ok>());
            let also = format!("Another name for `{name}`.");
            quote! {
                {
                    #head
                    __method.result = #p::Option::Some(#result);
                    #errors
                    #idempotent
                    __builder.method(#p::Clone::clone(&__method));
                    #(
                        let mut __also = #p::Clone::clone(&__method);
                        __also.name = #p::From::from(#aliases);
                        __also.description = #p::Option::Some(#p::From::from(#also));
                        __builder.method(__also);
                    )*
                }
            }
        }
        Kind::Notification => quote! {
            {
                #head
                __builder.method(__method);
            }
        },
        Kind::Subscription(sub) => {
            let (notification, unsubscribe, item) =
                (&sub.notification, &sub.unsubscribe, &sub.item);
            let add = quote_spanned!(item.span()=> __builder.subscription::<#item>(__method, #notification, #unsubscribe););
            quote! {
                {
                    #head
                    #add
                }
            }
        }
    }
}

/// A doc comment as OpenRPC wants it: the first paragraph as a one-line
/// summary, and the whole text when there is more than that paragraph.
struct Docs {
    summary: Option<String>,
    full: Option<String>,
}

impl Docs {
    /// Sets `target.summary` and `target.description` to these docs.
    fn assign(self, p: &TokenStream, target: &TokenStream) -> TokenStream {
        let summary = self
            .summary
            .map(|text| quote!(#target.summary = #p::Option::Some(#p::From::from(#text));));
        let description = self
            .full
            .map(|text| quote!(#target.description = #p::Option::Some(#p::From::from(#text));));
        quote!(#summary #description)
    }

    fn of(attrs: &[syn::Attribute]) -> Docs {
        let lines: Vec<String> = attrs
            .iter()
            .filter_map(|attr| match &attr.meta {
                syn::Meta::NameValue(pair) if pair.path.is_ident("doc") => match &pair.value {
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }) => Some(text.value()),
                    _ => None,
                },
                _ => None,
            })
            // `split('\n')`, not `lines()`: an empty `///` is a blank line.
            .flat_map(|text| {
                text.split('\n')
                    .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned())
                    .collect::<Vec<_>>()
            })
            .collect();
        let text = lines.join("\n").trim().to_owned();
        if text.is_empty() {
            return Docs {
                summary: None,
                full: None,
            };
        }
        let first: Vec<&str> = text
            .lines()
            .take_while(|line| !line.trim().is_empty())
            .map(str::trim)
            .collect();
        let summary = first.join(" ");
        let more = text.lines().count() > first.len();
        Docs {
            summary: Some(summary),
            full: more.then_some(text),
        }
    }
}
