//! Checks across items: unique wire names, reserved names, and clashes
//! with the items the macro generates.

use std::collections::HashSet;

use crate::ast::{Kind, Service};
use crate::ctxt::Ctxt;

/// Method names the generated items use themselves.
const GENERATED: [&str; 3] = ["into_router", "new", "inner"];

/// Those of them the server trait itself declares.
const SERVER_GENERATED: [&str; 1] = ["into_router"];

/// Reports every clash; methods whose Rust name clashes with a generated
/// item are left out of the expansion (the server trait still declares
/// them, unless the clash is with a server item) so they cause no second error.
pub(crate) fn service(cx: &Ctxt, service: &mut Service) {
    let mut seen: HashSet<String> = HashSet::new();
    let mut claim = |name: String, lit: &syn::LitStr| {
        if name.starts_with("rpc.") {
            cx.error_spanned_by(
                lit,
                format!("`{name}`: names starting with `rpc.` are reserved by JSON-RPC"),
            );
        } else if !seen.insert(name.clone()) {
            cx.error_spanned_by(lit, format!("the method name `{name}` is used twice"));
        }
    };
    for method in &service.methods {
        claim(method.name.clone(), &method.name_lit);
        match &method.kind {
            Kind::Method { aliases, .. } => {
                for alias in aliases {
                    claim(alias.value(), alias);
                }
            }
            Kind::Subscription(sub) => claim(sub.unsubscribe.clone(), &sub.unsubscribe_lit),
            Kind::Notification => {}
        }
    }
    let (clashing, kept) = std::mem::take(&mut service.methods)
        .into_iter()
        .partition(|method| GENERATED.contains(&method.ident.to_string().as_str()));
    service.methods = kept;
    for method in clashing {
        let ident = method.ident.to_string();
        cx.error_spanned_by(&method.ident, format!("`{ident}` clashes with an item the macro generates; rename the Rust method (the wire name can stay)"));
        if !SERVER_GENERATED.contains(&ident.as_str()) {
            service.fallback.push(method.original);
        }
    }
}
