//! The attributes on trait items: `#[method]`, `#[notification]`,
//! `#[subscription]`, and `#[arg]` on parameters.

use syn::{Attribute, Expr, ExprArray, Ident, Lit, LitInt, LitStr, Type};

use crate::ctxt::Ctxt;

/// Which of the three kinds an item is, with its own settings.
pub(crate) enum KindAttr {
    Method {
        name: LitStr,
        aliases: Vec<LitStr>,
        idempotent: bool,
    },
    Notification {
        name: LitStr,
    },
    Subscription(Box<SubscriptionAttr>),
}

pub(crate) struct SubscriptionAttr {
    pub(crate) name: LitStr,
    pub(crate) unsubscribe: LitStr,
    pub(crate) notification: Option<LitStr>,
    /// `item = T`; when absent, taken from the `PendingSubscription<T>` parameter.
    pub(crate) item: Option<Type>,
    pub(crate) buffer: Option<LitInt>,
    pub(crate) overflow: Option<Ident>,
}

const KINDS: [&str; 3] = ["method", "notification", "subscription"];

/// Whether `attr` is one of ours (and so must be stripped from the output).
pub(crate) fn is_kind(attr: &Attribute) -> bool {
    KINDS.iter().any(|kind| attr.path().is_ident(kind))
}

/// Finds and parses the one kind attribute of an item, and whether its params
/// go by name (`param_kind = map`). `None` after an error.
pub(crate) fn parse_kind(cx: &Ctxt, item: &syn::TraitItemFn) -> Option<(KindAttr, bool)> {
    let found: Vec<&Attribute> = item.attrs.iter().filter(|a| is_kind(a)).collect();
    let attr = match found.as_slice() {
        [] => {
            cx.error_spanned_by(
                &item.sig.ident,
                "expected `#[method(...)]`, `#[notification(...)]` or `#[subscription(...)]` on this item",
            );
            return None;
        }
        [attr] => *attr,
        [_, second, ..] => {
            cx.error_spanned_by(
                second,
                "an item takes exactly one of `#[method]`, `#[notification]` or `#[subscription]`",
            );
            return None;
        }
    };
    let mut keys = Keys::default();
    if let Err(err) = attr.parse_nested_meta(|meta| keys.read(&meta)) {
        cx.syn_error(err);
        return None;
    }
    let kind = attr
        .path()
        .get_ident()
        .map(ToString::to_string)
        .unwrap_or_default();
    keys.into_kind(cx, attr, &kind)
}

/// Every key any kind accepts; `into_kind` checks which belong.
#[derive(Default)]
struct Keys {
    name: Option<LitStr>,
    aliases: Option<Vec<LitStr>>,
    param_kind: Option<Ident>,
    unsubscribe: Option<LitStr>,
    notification: Option<LitStr>,
    item: Option<Type>,
    buffer: Option<LitInt>,
    overflow: Option<Ident>,
    /// `idempotent`, a flag: safe to send again after a reconnect.
    idempotent: bool,
    given: Vec<(String, proc_macro2::Span)>,
}

impl Keys {
    fn read(&mut self, meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
        let key = meta
            .path
            .get_ident()
            .map(ToString::to_string)
            .unwrap_or_default();
        if self.given.iter().any(|(k, _)| *k == key) {
            return Err(meta.error(format!("duplicate key `{key}`")));
        }
        self.given.push((
            key.clone(),
            meta.path
                .get_ident()
                .map_or_else(proc_macro2::Span::call_site, Ident::span),
        ));
        if key == "idempotent" {
            self.idempotent = true;
            return Ok(());
        }
        let value = meta.value()?;
        match key.as_str() {
            "name" => self.name = Some(value.parse()?),
            "unsubscribe" => self.unsubscribe = Some(value.parse()?),
            "notification" => self.notification = Some(value.parse()?),
            "item" => self.item = Some(value.parse()?),
            "buffer" => self.buffer = Some(value.parse()?),
            "overflow" => self.overflow = Some(value.parse()?),
            "param_kind" => self.param_kind = Some(value.parse()?),
            "aliases" => {
                let list: ExprArray = value.parse()?;
                let mut aliases = Vec::new();
                for elem in list.elems {
                    match elem {
                        Expr::Lit(syn::ExprLit { lit: Lit::Str(alias), .. }) => aliases.push(alias),
                        other => return Err(syn::Error::new_spanned(other, "expected a string literal")),
                    }
                }
                self.aliases = Some(aliases);
            }
            _ => {
                return Err(meta.error(
                    "unknown key; expected one of `name`, `aliases`, `param_kind`, `idempotent`, `unsubscribe`, `notification`, `item`, `buffer`, `overflow`",
                ))
            }
        }
        Ok(())
    }

    fn into_kind(self, cx: &Ctxt, attr: &Attribute, kind: &str) -> Option<(KindAttr, bool)> {
        let allowed: &[&str] = match kind {
            "method" => &["name", "aliases", "param_kind", "idempotent"],
            "notification" => &["name", "param_kind"],
            _ => &[
                "name",
                "unsubscribe",
                "notification",
                "item",
                "buffer",
                "overflow",
                "param_kind",
            ],
        };
        let mut ok = true;
        for (key, span) in &self.given {
            if !allowed.contains(&key.as_str()) {
                cx.syn_error(syn::Error::new(
                    *span,
                    format!("`{key}` does not apply to `#[{kind}]`"),
                ));
                ok = false;
            }
        }
        let Some(name) = self.name else {
            cx.error_spanned_by(attr, format!("missing `name = \"...\"` in `#[{kind}]`"));
            return None;
        };
        let named_params = match &self.param_kind {
            None => false,
            Some(ident) if ident == "array" => false,
            Some(ident) if ident == "map" => true,
            Some(ident) => {
                cx.error_spanned_by(ident, "expected `param_kind = array` or `param_kind = map`");
                return None;
            }
        };
        if let Some(overflow) = &self.overflow {
            if !["drop_oldest", "close", "wait"].contains(&overflow.to_string().as_str()) {
                cx.error_spanned_by(
                    overflow,
                    "expected `overflow = drop_oldest`, `close` or `wait`",
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let parsed = match kind {
            "method" => KindAttr::Method {
                name,
                aliases: self.aliases.unwrap_or_default(),
                idempotent: self.idempotent,
            },
            "notification" => KindAttr::Notification { name },
            _ => {
                let Some(unsubscribe) = self.unsubscribe else {
                    cx.error_spanned_by(
                        attr,
                        "missing `unsubscribe = \"...\"` in `#[subscription]`",
                    );
                    return None;
                };
                KindAttr::Subscription(Box::new(SubscriptionAttr {
                    name,
                    unsubscribe,
                    notification: self.notification,
                    item: self.item,
                    buffer: self.buffer,
                    overflow: self.overflow,
                }))
            }
        };
        Some((parsed, named_params))
    }
}

/// The wire name of a parameter: `#[arg(rename = "...")]` or its Rust name.
pub(crate) fn param_name(cx: &Ctxt, attrs: &[Attribute], ident: &Ident) -> String {
    let mut name = ident.to_string();
    for attr in attrs.iter().filter(|a| a.path().is_ident("arg")) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: LitStr = meta.value()?.parse()?;
                name = value.value();
                Ok(())
            } else {
                Err(meta.error("unknown key; expected `rename = \"...\"`"))
            }
        });
        if let Err(err) = parsed {
            cx.syn_error(err);
        }
    }
    name
}

/// Attributes carried over to generated items: docs and deprecation.
pub(crate) fn carried(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc") || a.path().is_ident("deprecated"))
        .cloned()
        .collect()
}
