//! `#[derive(RpcError)]`: an enum of application errors, each variant with
//! its code and message, its fields as the error's data.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, LitInt, LitStr, Path};

/// The codes the JSON-RPC spec keeps for itself.
const RESERVED: std::ops::RangeInclusive<i64> = -32768..=-32000;

struct Variant<'a> {
    ident: &'a syn::Ident,
    fields: &'a Fields,
    code: i32,
    message: String,
}

pub(crate) fn derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let krate = crate_path(input)?;
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "`#[derive(RpcError)]` works on an enum: one variant per error",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "`#[derive(RpcError)]` does not take generic enums",
        ));
    }
    let mut variants = Vec::new();
    let mut errors: Option<syn::Error> = None;
    let mut push_error = |err: syn::Error| match &mut errors {
        Some(all) => all.combine(err),
        None => errors = Some(err),
    };
    for variant in &data.variants {
        match read_variant(variant) {
            Ok(read) => {
                if let Some(first) = variants.iter().find(|v: &&Variant<'_>| v.code == read.code) {
                    push_error(syn::Error::new_spanned(
                        &variant.ident,
                        format!("code {} is taken by `{}` already", read.code, first.ident),
                    ));
                }
                variants.push(read);
            }
            Err(err) => push_error(err),
        }
    }
    if let Some(errors) = errors {
        return Err(errors);
    }
    let p = quote!(#krate::__private);
    let ident = &input.ident;
    let to_arms = variants.iter().map(|v| to_arm(&p, v));
    // An enum with no variants has no value to match on by reference.
    let matched = if variants.is_empty() {
        quote!(*self)
    } else {
        quote!(self)
    };
    let from_arms = variants.iter().map(|v| from_arm(&p, v));
    let declared = variants.iter().map(|v| {
        let (code, message) = (v.code, &v.message);
        quote!((#code, #message))
    });
    Ok(quote! {
        impl #p::RpcError for #ident {
            fn error_codes() -> &'static [(i32, &'static str)] {
                &[#(#declared),*]
            }

            fn to_error_object(&self) -> #p::ErrorObject {
                match #matched {
                    #(#to_arms)*
                }
            }

            fn from_error_object(error: &#p::ErrorObject) -> #p::Option<Self> {
                match error.code.code() {
                    #(#from_arms)*
                    _ => #p::Option::None,
                }
            }
        }

        impl #p::From<#ident> for #p::ErrorObject {
            fn from(error: #ident) -> #p::ErrorObject {
                #p::RpcError::to_error_object(&error)
            }
        }
    })
}

/// `#[rpc_error(crate = "…")]` on the enum, else `::wirecall`.
fn crate_path(input: &DeriveInput) -> syn::Result<Path> {
    let mut krate: Path = syn::parse_quote!(::wirecall);
    for attr in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("rpc_error"))
    {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let value: LitStr = meta.value()?.parse()?;
                krate = value.parse()?;
                Ok(())
            } else {
                Err(meta.error("on the enum, `rpc_error` takes only `crate = \"…\"`"))
            }
        })?;
    }
    Ok(krate)
}

fn read_variant(variant: &syn::Variant) -> syn::Result<Variant<'_>> {
    let mut code = None;
    let mut message = None;
    let mut found = None;
    for attr in variant
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("rpc_error"))
    {
        found = Some(attr);
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("code") {
                let value = meta.value()?;
                let negative = value.parse::<syn::Token![-]>().is_ok();
                let literal: LitInt = value.parse()?;
                let magnitude: i64 = literal.base10_parse()?;
                let number = if negative { -magnitude } else { magnitude };
                if RESERVED.contains(&number) {
                    return Err(syn::Error::new(
                        literal.span(),
                        format!(
                            "code {number} is in the range the JSON-RPC spec reserves \
                             (-32768 to -32000); application errors use any other code"
                        ),
                    ));
                }
                code = Some(i32::try_from(number).map_err(|_| {
                    syn::Error::new(literal.span(), "an error code is a 32-bit integer")
                })?);
                Ok(())
            } else if meta.path.is_ident("message") {
                let value: LitStr = meta.value()?.parse()?;
                message = Some(value.value());
                Ok(())
            } else {
                Err(meta.error("expected `code = …` or `message = \"…\"`"))
            }
        })?;
    }
    let Some(code) = code else {
        return Err(match found {
            Some(attr) => syn::Error::new_spanned(attr, "`rpc_error` needs `code = …`"),
            None => syn::Error::new_spanned(
                &variant.ident,
                "each variant needs `#[rpc_error(code = …, message = \"…\")]`",
            ),
        });
    };
    Ok(Variant {
        ident: &variant.ident,
        fields: &variant.fields,
        code,
        message: message.unwrap_or_else(|| words(&variant.ident.to_string())),
    })
}

/// `NoSuchRoom` → `no such room`: the message when none is given.
fn words(ident: &str) -> String {
    let mut out = String::new();
    for (i, c) in ident.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.extend(c.to_lowercase());
    }
    out
}

fn to_arm(p: &TokenStream, v: &Variant<'_>) -> TokenStream {
    let (ident, code, message) = (v.ident, v.code, &v.message);
    let code = quote!(<#p::ErrorCode as #p::From<i32>>::from(#code));
    let object = quote!(#p::ErrorObject::new(#code, #message));
    match v.fields {
        Fields::Unit => quote!(Self::#ident => #object,),
        Fields::Named(fields) => {
            let (names, keys) = named(fields);
            // Not nameable from the user's code, so a field called `data`
            // cannot shadow it.
            let data = proc_macro2::Ident::new("data", proc_macro2::Span::mixed_site());
            quote! {
                Self::#ident { #(#names),* } => {
                    let mut #data = #p::DataObject::new();
                    #(#data.insert(#keys, #names);)*
                    #object.with_data(&#data.finish())
                }
            }
        }
        Fields::Unnamed(unnamed) => {
            let names = bindings(unnamed);
            let data = if names.len() == 1 {
                quote!(#(#names)*)
            } else {
                quote!(&(#(#names),*))
            };
            quote! {
                Self::#ident(#(#names),*) => #object.with_data(#data),
            }
        }
    }
}

fn from_arm(p: &TokenStream, v: &Variant<'_>) -> TokenStream {
    let (ident, code) = (v.ident, v.code);
    match v.fields {
        Fields::Unit => quote!(#code => #p::Option::Some(Self::#ident),),
        Fields::Named(fields) => {
            let (names, keys) = named(fields);
            let data = proc_macro2::Ident::new("data", proc_macro2::Span::mixed_site());
            quote! {
                #code => {
                    let #data = #p::DataObject::read(error)?;
                    #p::Option::Some(Self::#ident { #(#names: #data.field(#keys)?),* })
                }
            }
        }
        Fields::Unnamed(unnamed) => {
            let names = bindings(unnamed);
            if names.len() == 1 {
                quote!(#code => #p::Option::Some(Self::#ident(#p::data_value(error)?)),)
            } else {
                quote! {
                    #code => {
                        let (#(#names),*) = #p::data_value(error)?;
                        #p::Option::Some(Self::#ident(#(#names),*))
                    }
                }
            }
        }
    }
}

/// The field names of a variant with named fields, and the data keys
/// (the same names, as strings).
fn named(fields: &syn::FieldsNamed) -> (Vec<&syn::Ident>, Vec<String>) {
    let names: Vec<_> = fields
        .named
        .iter()
        .filter_map(|f| f.ident.as_ref())
        .collect();
    // `r#type` is the key `type` on the wire.
    let keys = names.iter().map(|name| name.unraw().to_string()).collect();
    (names, keys)
}

/// Names to bind a tuple variant's fields to.
fn bindings(fields: &syn::FieldsUnnamed) -> Vec<syn::Ident> {
    (0..fields.unnamed.len())
        .map(|i| format_ident!("field{i}"))
        .collect()
}
