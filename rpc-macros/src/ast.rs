//! The trait as a model: each item checked on its own, so one bad item
//! does not hide the others.

use syn::{Attribute, FnArg, Ident, ItemTrait, Pat, ReturnType, TraitItem, Type, Visibility};

use crate::args::RpcArgs;
use crate::attr::{self, KindAttr};
use crate::ctxt::Ctxt;

/// The whole service.
pub(crate) struct Service {
    pub(crate) vis: Visibility,
    pub(crate) ident: Ident,
    pub(crate) docs: Vec<Attribute>,
    pub(crate) methods: Vec<RpcMethod>,
    /// Items that could not be expanded, kept with their signature in the
    /// server trait so a user's `impl` sees only the macro's own error.
    pub(crate) fallback: Vec<syn::TraitItemFn>,
}

/// One item of the trait that parsed cleanly.
pub(crate) struct RpcMethod {
    /// The item as written, for the fallback expansion.
    pub(crate) original: syn::TraitItemFn,
    pub(crate) ident: Ident,
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) kind: Kind,
    /// The wire name, namespace included, with the literal it came from.
    pub(crate) name: String,
    pub(crate) name_lit: syn::LitStr,
    pub(crate) args: Vec<Arg>,
    /// Send params as an object instead of an array.
    pub(crate) named_params: bool,
}

pub(crate) enum Kind {
    Method {
        aliases: Vec<syn::LitStr>,
        output: Type,
        ok: Type,
        /// The application's error type, when the client returns it typed:
        /// written as `Result<T, E>` with an `E` other than `ErrorObject`.
        app_error: Option<Box<Type>>,
        /// Safe to run twice: the client sends it again after a reconnect.
        idempotent: bool,
    },
    Notification,
    Subscription(Subscription),
}

pub(crate) struct Subscription {
    pub(crate) unsubscribe: String,
    pub(crate) unsubscribe_lit: syn::LitStr,
    pub(crate) notification: String,
    pub(crate) item: Type,
    pub(crate) buffer: Option<syn::LitInt>,
    pub(crate) overflow: Option<Ident>,
}

/// A parameter after `&self`.
pub(crate) struct Arg {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) role: Role,
    /// Its doc comment: rustc allows none on a parameter, so the macro
    /// takes it for the OpenRPC document and leaves it out of its output.
    pub(crate) docs: Vec<Attribute>,
}

pub(crate) enum Role {
    /// Sent over the wire under this name.
    Param(String),
    /// The per-connection `Context`, filled in by the server.
    Context,
    /// The subscription's `PendingSubscription<Item>`.
    Sink,
}

impl Service {
    pub(crate) fn from_trait(cx: &Ctxt, args: &RpcArgs, item: &ItemTrait) -> Service {
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            cx.error_spanned_by(&item.generics, "an `#[rpc]` trait cannot be generic");
        }
        if !item.supertraits.is_empty() {
            cx.error_spanned_by(
                &item.supertraits,
                "an `#[rpc]` trait cannot have supertraits",
            );
        }
        let mut methods = Vec::new();
        let mut fallback = Vec::new();
        for trait_item in &item.items {
            match trait_item {
                TraitItem::Fn(function) => match RpcMethod::parse(cx, args, function) {
                    Some(method) => methods.push(method),
                    None => fallback.push(fallback_of(function)),
                },
                other => {
                    cx.error_spanned_by(other, "only methods are allowed in an `#[rpc]` trait");
                }
            }
        }
        Service {
            vis: item.vis.clone(),
            ident: item.ident.clone(),
            docs: attr::carried(&item.attrs),
            methods,
            fallback,
        }
    }
}

impl RpcMethod {
    fn parse(cx: &Ctxt, args: &RpcArgs, function: &syn::TraitItemFn) -> Option<RpcMethod> {
        let kind_attr = attr::parse_kind(cx, function);
        let sig = &function.sig;
        let mut ok = kind_attr.is_some();
        if sig.asyncness.is_none() {
            cx.error_spanned_by(sig.fn_token, "rpc methods must be `async fn`");
            ok = false;
        }
        if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
            cx.error_spanned_by(&sig.generics, "rpc methods cannot be generic");
            ok = false;
        }
        if let Some(body) = &function.default {
            cx.error_spanned_by(body, "rpc methods have no body in the trait");
            ok = false;
        }
        ok &= check_receiver(cx, sig);
        let arguments = parse_args(cx, args, sig);
        let (kind_attr, arguments) = (kind_attr?, arguments?);
        if !ok {
            return None;
        }
        let namespaced = |lit: &syn::LitStr| match &args.namespace {
            Some(ns) => format!("{ns}_{}", lit.value()),
            None => lit.value(),
        };
        let (kind_attr, named_params) = kind_attr;
        let (kind, name_lit) = match kind_attr {
            KindAttr::Method {
                name,
                aliases,
                idempotent,
            } => {
                let (output, ok_ty, app_error) = result_types(cx, sig)?;
                no_role(
                    cx,
                    &arguments,
                    Role::is_sink,
                    "only a `#[subscription]` takes a `PendingSubscription`",
                )?;
                (
                    Kind::Method {
                        aliases,
                        output,
                        ok: ok_ty,
                        app_error,
                        idempotent,
                    },
                    name,
                )
            }
            KindAttr::Notification { name } => {
                no_output(cx, sig, "a `#[notification]` returns nothing")?;
                no_role(
                    cx,
                    &arguments,
                    Role::is_sink,
                    "only a `#[subscription]` takes a `PendingSubscription`",
                )?;
                (Kind::Notification, name)
            }
            KindAttr::Subscription(sub) => {
                no_output(
                    cx,
                    sig,
                    "a `#[subscription]` returns nothing: it sends items through its sink",
                )?;
                if arguments.iter().filter(|a| a.role.is_sink()).count() != 1 {
                    cx.error_spanned_by(&sig.inputs, "a `#[subscription]` takes exactly one `PendingSubscription<Item>` parameter");
                    return None;
                }
                let notification = sub
                    .notification
                    .as_ref()
                    .map_or_else(|| namespaced(&sub.name), syn::LitStr::value);
                let sink = arguments.iter().find(|a| a.role.is_sink())?;
                // A `PendingSubscription` without `<Item>` is rustc's error to
                // report (missing generics); the item then falls back.
                let item = sub.item.or_else(|| sink_item(&sink.ty))?;
                let subscription = Subscription {
                    unsubscribe: namespaced(&sub.unsubscribe),
                    unsubscribe_lit: sub.unsubscribe,
                    notification,
                    item,
                    buffer: sub.buffer,
                    overflow: sub.overflow,
                };
                (Kind::Subscription(subscription), sub.name)
            }
        };
        Some(RpcMethod {
            original: fallback_of(function),
            ident: sig.ident.clone(),
            attrs: attr::carried(&function.attrs),
            name: namespaced(&name_lit),
            name_lit,
            kind,
            args: arguments,
            named_params,
        })
    }

    /// The wire parameters, in order.
    pub(crate) fn params(&self) -> impl Iterator<Item = (&Arg, &str)> {
        self.args.iter().filter_map(|arg| match &arg.role {
            Role::Param(wire) => Some((arg, wire.as_str())),
            _ => None,
        })
    }
}

impl Role {
    fn is_sink(&self) -> bool {
        matches!(self, Role::Sink)
    }
}

fn check_receiver(cx: &Ctxt, sig: &syn::Signature) -> bool {
    match sig.inputs.first() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() =>
        {
            true
        }
        Some(FnArg::Receiver(receiver)) => {
            cx.error_spanned_by(
                receiver,
                "expected `&self`: handlers share the service and run concurrently",
            );
            false
        }
        _ => {
            cx.error_spanned_by(&sig.ident, "expected `&self` as the first parameter");
            false
        }
    }
}

fn parse_args(cx: &Ctxt, args: &RpcArgs, sig: &syn::Signature) -> Option<Vec<Arg>> {
    let mut parsed = Vec::new();
    let mut ok = true;
    for input in sig.inputs.iter().skip(1) {
        let FnArg::Typed(typed) = input else { continue };
        let Pat::Ident(pat) = &*typed.pat else {
            cx.error_spanned_by(&typed.pat, "parameters must be plain names");
            ok = false;
            continue;
        };
        if let Type::Reference(reference) = &*typed.ty {
            cx.error_spanned_by(reference, "parameters must be owned types (`String`, not `&str`): they outlive the frame they came in");
            ok = false;
            continue;
        }
        let role = if is_server_context(&typed.ty, &args.krate) {
            Role::Context
        } else if last_segment(&typed.ty).as_deref() == Some("PendingSubscription") {
            Role::Sink
        } else {
            Role::Param(attr::param_name(cx, &typed.attrs, &pat.ident))
        };
        parsed.push(Arg {
            ident: pat.ident.clone(),
            ty: (*typed.ty).clone(),
            role,
            docs: typed
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
        });
    }
    ok.then_some(parsed)
}

/// wirecall's `Context`: written `Context`, or through the crate's path
/// (`wirecall::Context`, `::wirecall::Context`, or the path given by
/// `#[rpc(crate = …)]`). A type of the user's that is also named `Context`
/// is an ordinary parameter when written with its own path (`crate::Context`,
/// `models::Context`).
fn is_server_context(ty: &Type, krate: &syn::Path) -> bool {
    let Type::Path(path) = ty else { return false };
    if path.qself.is_some() {
        return false;
    }
    let segments: Vec<&syn::PathSegment> = path.path.segments.iter().collect();
    let Some((last, prefix)) = segments.split_last() else {
        return false;
    };
    if last.ident != "Context" || !last.arguments.is_empty() {
        return false;
    }
    if prefix.is_empty() {
        return path.path.leading_colon.is_none();
    }
    let written: Vec<&Ident> = prefix.iter().map(|s| &s.ident).collect();
    let of_krate: Vec<&Ident> = krate.segments.iter().map(|s| &s.ident).collect();
    written == of_krate
}

/// `T` of `PendingSubscription<T>`.
fn sink_item(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let segment = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(generics) = &segment.arguments else {
        return None;
    };
    generics.args.iter().find_map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty.clone()),
        _ => None,
    })
}

/// The item as the server trait declares it when it cannot be expanded:
/// its signature and docs, without the macro's attributes or a body.
pub(crate) fn fallback_of(function: &syn::TraitItemFn) -> syn::TraitItemFn {
    let mut sig = function.sig.clone();
    for input in &mut sig.inputs {
        if let FnArg::Typed(typed) = input {
            typed.attrs.clear();
        }
    }
    syn::TraitItemFn {
        attrs: attr::carried(&function.attrs),
        sig,
        default: None,
        semi_token: Some(syn::Token![;](proc_macro2::Span::call_site())),
    }
}

fn last_segment(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// For `-> Result<T, E>` (or an alias ending in `Result`): the whole type,
/// `T`, and `E` when it is an application error type (not `ErrorObject`).
fn result_types(cx: &Ctxt, sig: &syn::Signature) -> Option<(Type, Type, Option<Box<Type>>)> {
    let message =
        "a `#[method]` must return `Result<T, E>` where `E` is `ErrorObject` or derives `RpcError`";
    let ReturnType::Type(_, output) = &sig.output else {
        cx.error_spanned_by(&sig.ident, message);
        return None;
    };
    let generics: Option<Vec<Type>> = match &**output {
        Type::Path(path) => path.path.segments.last().and_then(|segment| {
            if !segment.ident.to_string().ends_with("Result") {
                return None;
            }
            match &segment.arguments {
                syn::PathArguments::AngleBracketed(generics) => Some(
                    generics
                        .args
                        .iter()
                        .filter_map(|arg| match arg {
                            syn::GenericArgument::Type(ty) => Some(ty.clone()),
                            _ => None,
                        })
                        .collect(),
                ),
                _ => None,
            }
        }),
        _ => None,
    };
    let Some(mut generics) = generics.filter(|g| !g.is_empty()) else {
        cx.error_spanned_by(output, message);
        return None;
    };
    let app_error = (generics.len() == 2)
        .then(|| generics.pop())
        .flatten()
        .filter(|err| !is_error_object(err))
        .map(Box::new);
    Some(((**output).clone(), generics.swap_remove(0), app_error))
}

/// Whether `ty` names wirecall's `ErrorObject` (by its last segment).
fn is_error_object(ty: &Type) -> bool {
    matches!(ty, Type::Path(path)
        if path.path.segments.last().is_some_and(|s| s.ident == "ErrorObject"))
}

fn no_output(cx: &Ctxt, sig: &syn::Signature, message: &str) -> Option<()> {
    match &sig.output {
        ReturnType::Default => Some(()),
        ReturnType::Type(_, ty) => {
            cx.error_spanned_by(ty, message);
            None
        }
    }
}

fn no_role(cx: &Ctxt, args: &[Arg], role: fn(&Role) -> bool, message: &str) -> Option<()> {
    match args.iter().find(|arg| role(&arg.role)) {
        Some(arg) => {
            cx.error_spanned_by(&arg.ty, message);
            None
        }
        None => Some(()),
    }
}
