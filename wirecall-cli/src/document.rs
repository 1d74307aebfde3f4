//! A server's OpenRPC document (`rpc.discover`): fetched, listed by
//! `discover`, and shown one method at a time by `call METHOD --help`.

use std::fmt::Write;

use serde_json::Value;
use wirecall::openrpc::{Document, Method};
use wirecall::{CallError, Client, ErrorCode};

use crate::check::json_types;
use crate::failure::Failure;

/// The server's document; `None` when it has no `rpc.discover`.
pub(crate) async fn fetch(client: &Client) -> Result<Option<Document>, Failure> {
    match client.call_raw("rpc.discover", None).await {
        Ok(answer) => serde_json::from_str(answer.get()).map(Some).map_err(|err| {
            Failure::Other(format!(
                "the server's rpc.discover answer is not an OpenRPC document: {err}"
            ))
        }),
        Err(CallError::Rpc(error)) if error.code == ErrorCode::MethodNotFound => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The method called `name`, or a message naming the closest one.
pub(crate) fn method<'a>(document: &'a Document, name: &str) -> Result<&'a Method, Failure> {
    document.method(name).ok_or_else(|| {
        let hint = document
            .closest_method(name)
            .map_or_else(String::new, |near| format!("; did you mean `{near}`?"));
        Failure::Usage(format!(
            "the server's document lists no method `{name}`{hint} (`wirecall discover URL` lists them)"
        ))
    })
}

/// A short name for a schema: `integer`, `string or null`, `array of
/// Point`, `Point` (a shared schema), `any`.
pub(crate) fn type_label(document: &Document, schema: &Value) -> String {
    if let Some(name) = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|target| target.rsplit('/').next())
    {
        return name.to_owned();
    }
    let types = json_types(document, schema);
    if types == ["array"] {
        if let Some(items) = schema.get("items").filter(|items| items.is_object()) {
            return format!("array of {}", type_label(document, items));
        }
    }
    if types.is_empty() {
        return "any".into();
    }
    types.join(" or ")
}

/// One method as `discover` lists it: its signature, then its summary.
fn signature(document: &Document, method: &Method) -> String {
    let params: Vec<String> = method
        .params
        .iter()
        .map(|p| {
            let optional = if p.required { "" } else { "?" };
            format!("{}{optional}: {}", p.name, type_label(document, &p.schema))
        })
        .collect();
    let mut line = format!("{}({})", method.name, params.join(", "));
    match (&method.subscription, &method.result) {
        (Some(sub), _) => {
            let _ = write!(
                line,
                " -> items of {} as `{}`, ended by `{}`",
                type_label(document, &sub.item),
                sub.notification,
                sub.unsubscribe
            );
        }
        (None, Some(result)) => {
            let _ = write!(line, " -> {}", type_label(document, &result.schema));
        }
        (None, None) => line.push_str("  (notification)"),
    }
    if method.deprecated {
        line.push_str("  (deprecated)");
    }
    line
}

/// `discover`'s listing of the whole document.
pub(crate) fn listing(document: &Document) -> String {
    let info = &document.info;
    let mut text = format!("{} {}\n", info.title, info.version);
    if let Some(description) = &info.description {
        text.push_str(&indent(description, "  "));
    }
    text.push('\n');
    for method in &document.methods {
        text.push_str(&signature(document, method));
        text.push('\n');
        if let Some(summary) = &method.summary {
            text.push_str(&indent(summary, "    "));
        }
        if !method.errors.is_empty() {
            let errors: Vec<String> = method
                .errors
                .iter()
                .map(|error| format!("{} {}", error.code, error.message))
                .collect();
            let _ = writeln!(text, "    errors: {}", errors.join("; "));
        }
    }
    text.push_str("\n`wirecall call URL METHOD --help` shows one method's params.");
    text
}

/// One method's `--help`.
pub(crate) fn method_help(document: &Document, method: &Method) -> String {
    let mut text = signature(document, method);
    text.push('\n');
    if let Some(about) = method.description.as_ref().or(method.summary.as_ref()) {
        text.push('\n');
        text.push_str(&indent(about, "  "));
    }
    text.push_str("\nParams (by position in this order, or by name as key=value / key:=json):\n");
    if method.params.is_empty() {
        text.push_str("  none\n");
    }
    for param in &method.params {
        let need = if param.required {
            "required"
        } else {
            "optional"
        };
        let about = param
            .summary
            .as_ref()
            .map_or_else(String::new, |line| format!("  {line}"));
        let _ = writeln!(
            text,
            "  {:<16} {:<24} {need}{about}",
            param.name,
            type_label(document, &param.schema)
        );
        members(document, &param.schema, &mut text);
    }
    if !method.errors.is_empty() {
        text.push_str("Errors:\n");
        for error in &method.errors {
            let _ = writeln!(text, "  {:<8} {}", error.code, error.message);
        }
    }
    text.trim_end().to_owned()
}

/// An object param's members, one level down, under its line: what to put
/// in its JSON.
fn members(document: &Document, schema: &Value, text: &mut String) {
    let schema = document.resolve(schema);
    let Some(Value::Object(properties)) = schema.get("properties") else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, property) in properties {
        let need = if required.contains(&name.as_str()) {
            "required"
        } else {
            "optional"
        };
        let about = document
            .resolve(property)
            .get("description")
            .or_else(|| property.get("description"))
            .and_then(Value::as_str)
            .and_then(|text| text.lines().next())
            .map_or_else(String::new, |line| format!("  {line}"));
        let _ = writeln!(
            text,
            "    .{:<14} {:<24} {need}{about}",
            name,
            type_label(document, property)
        );
    }
}

fn indent(text: &str, by: &str) -> String {
    let mut indented = String::new();
    for line in text.lines() {
        let _ = writeln!(indented, "{by}{line}");
    }
    indented
}
