//! What a server's OpenRPC document (`rpc.discover`) adds: the listing of
//! `discover`, one method's `--help`, and arguments checked and converted
//! before they are sent.

use std::fmt::Write;

use serde_json::{Map, Value};
use wirecall::openrpc::{ContentDescriptor, Document, Method, ParamStructure};
use wirecall::{CallError, Client, ErrorCode};

use crate::args::{Args, NamedValue};
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

/// The params to send for `args`, checked against the method's params:
/// names and counts must fit, required params must be there, values must
/// have their schema's JSON type, and `key=value` text becomes the number,
/// boolean or JSON value its param takes.
pub(crate) fn params(document: &Document, method: &Method, args: Args) -> Result<Value, Failure> {
    let usage = |why: String| Failure::Usage(format!("`{}`: {why}", method.name));
    let given: Vec<String> = match &args {
        Args::None => Vec::new(),
        Args::Positional(values) => {
            if values.len() > method.params.len() {
                return Err(usage(format!(
                    "takes at most {} params, {} given",
                    method.params.len(),
                    values.len()
                )));
            }
            for (value, param) in values.iter().zip(&method.params) {
                check_type(document, param, value).map_err(usage)?;
            }
            method.params[..values.len()]
                .iter()
                .map(|p| p.name.clone())
                .collect()
        }
        Args::Named(pairs) => pairs.iter().map(|(key, _)| key.clone()).collect(),
    };
    let args = match args {
        Args::Named(pairs) => {
            let mut converted = Vec::new();
            for (key, value) in pairs {
                let Some(param) = method.param(&key) else {
                    let hint = method
                        .closest_param(&key)
                        .map_or_else(String::new, |near| format!("; did you mean `{near}`?"));
                    return Err(usage(format!(
                        "no param `{key}`{hint} (its params: {})",
                        names(method)
                    )));
                };
                let value = match value {
                    NamedValue::Text(text) => from_text(document, param, text).map_err(usage)?,
                    NamedValue::Json(value) => value,
                };
                check_type(document, param, &value).map_err(usage)?;
                converted.push((key, NamedValue::Json(value)));
            }
            Args::Named(converted)
        }
        other => other,
    };
    if let Some(missing) = method
        .params
        .iter()
        .find(|p| p.required && !given.contains(&p.name))
    {
        return Err(usage(format!(
            "`{}` ({}) is required",
            missing.name,
            type_label(document, &missing.schema)
        )));
    }
    Ok(shaped(method, args))
}

/// The params in the shape the method asks for: a method read only by
/// position gets named arguments as an array in its params' order (`null`
/// for a gap), one read only by name gets positions as an object.
fn shaped(method: &Method, args: Args) -> Value {
    match (method.param_structure, args) {
        (ParamStructure::ByPosition, Args::Named(pairs)) => {
            let mut by_name: Map<String, Value> = Args::Named(pairs)
                .into_params()
                .as_object()
                .cloned()
                .unwrap_or_default();
            let mut values: Vec<Value> = method
                .params
                .iter()
                .map(|param| by_name.remove(&param.name).unwrap_or(Value::Null))
                .collect();
            while values.last().is_some_and(Value::is_null) {
                values.pop();
            }
            Value::Array(values)
        }
        (ParamStructure::ByName, Args::Positional(values)) => Value::Object(
            method
                .params
                .iter()
                .map(|param| param.name.clone())
                .zip(values)
                .collect(),
        ),
        (_, args) => args.into_params(),
    }
}

fn names(method: &Method) -> String {
    if method.params.is_empty() {
        return "none".into();
    }
    let names: Vec<&str> = method.params.iter().map(|p| p.name.as_str()).collect();
    names.join(", ")
}

/// `key=value` text as the value its param takes.
fn from_text(
    document: &Document,
    param: &ContentDescriptor,
    text: String,
) -> Result<Value, String> {
    let types = json_types(document, &param.schema);
    if types.is_empty() || types.contains(&"string") {
        return Ok(Value::String(text));
    }
    serde_json::from_str(&text).map_err(|_| {
        format!(
            "`{}` takes {}: `{text}` is not one (or pass JSON as {}:=…)",
            param.name,
            type_label(document, &param.schema),
            param.name
        )
    })
}

fn check_type(document: &Document, param: &ContentDescriptor, value: &Value) -> Result<(), String> {
    let types = json_types(document, &param.schema);
    if types.is_empty() || types.iter().any(|t| is_of_type(value, t)) {
        return Ok(());
    }
    Err(format!(
        "`{}` takes {}, not {value}",
        param.name,
        type_label(document, &param.schema)
    ))
}

fn is_of_type(value: &Value, json_type: &str) -> bool {
    match json_type {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

/// The JSON types a schema allows (through references, `anyOf` and
/// `oneOf`); empty when it does not say.
fn json_types<'a>(document: &'a Document, schema: &'a Value) -> Vec<&'a str> {
    types_within(document, schema, 0)
}

/// How deep `anyOf`/`oneOf` are followed: a schema that contains itself
/// (a recursive type) would otherwise be followed forever.
const MAX_DEPTH: usize = 8;

fn types_within<'a>(document: &'a Document, schema: &'a Value, depth: usize) -> Vec<&'a str> {
    if depth > MAX_DEPTH {
        return Vec::new();
    }
    let schema = document.resolve(schema);
    let mut types: Vec<&str> = match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if types.is_empty() {
        for branches in ["anyOf", "oneOf"] {
            if let Some(Value::Array(branches)) = schema.get(branches) {
                for branch in branches {
                    let branch_types = types_within(document, branch, depth + 1);
                    // A branch that allows anything makes the whole schema so.
                    if branch_types.is_empty() {
                        return Vec::new();
                    }
                    types.extend(branch_types);
                }
            }
        }
    }
    types
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
        let _ = writeln!(
            text,
            "  {:<16} {:<24} {need}",
            param.name,
            type_label(document, &param.schema)
        );
    }
    if !method.errors.is_empty() {
        text.push_str("Errors:\n");
        for error in &method.errors {
            let _ = writeln!(text, "  {:<8} {}", error.code, error.message);
        }
    }
    text.trim_end().to_owned()
}

fn indent(text: &str, by: &str) -> String {
    let mut indented = String::new();
    for line in text.lines() {
        let _ = writeln!(indented, "{by}{line}");
    }
    indented
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use wirecall::openrpc::{ContentDescriptor, Document, Method};

    use super::*;

    fn document() -> Document {
        let mut document = Document::new("t", "1");
        let mut add = Method::new("add");
        add.params = vec![
            ContentDescriptor::new("a", json!({"type": "integer"})).required(),
            ContentDescriptor::new("b", json!({"type": ["integer", "null"]})),
            ContentDescriptor::new("label", json!({"type": "string"})),
            ContentDescriptor::new("at", json!({"$ref": "#/components/schemas/Point"})),
        ];
        document.methods.push(add);
        document
            .components
            .schemas
            .insert("Point".into(), json!({"type": "object"}));
        document
    }

    fn named(pairs: &[(&str, NamedValue)]) -> Args {
        Args::Named(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        )
    }

    fn text(value: &str) -> NamedValue {
        NamedValue::Text(value.into())
    }

    #[test]
    fn text_becomes_the_type_its_param_takes() {
        let document = document();
        let add = document.method("add").unwrap();
        let args = named(&[
            ("a", text("42")),
            ("label", text("42")),
            ("at", text(r#"{"x":1}"#)),
        ]);
        assert_eq!(
            params(&document, add, args).unwrap(),
            json!({"a": 42, "label": "42", "at": {"x": 1}})
        );
    }

    #[test]
    fn wrong_arguments_are_refused_with_what_to_fix() {
        let document = document();
        let add = document.method("add").unwrap();
        let message = |args| match params(&document, add, args) {
            Err(failure) => failure.message(),
            Ok(sent) => panic!("accepted {sent}"),
        };
        assert!(message(named(&[("a", text("x"))])).contains("`a` takes integer: `x` is not one"));
        assert!(message(named(&[("aa", text("1"))])).contains("no param `aa`; did you mean `a`?"));
        assert!(message(named(&[("b", text("1"))])).contains("`a` (integer) is required"));
        assert!(
            message(Args::Positional(vec![json!("1")])).contains("`a` takes integer, not \"1\"")
        );
        let too_many = Args::Positional(vec![json!(1); 5]);
        assert!(message(too_many).contains("takes at most 4 params, 5 given"));
        assert!(message(Args::None).contains("is required"));
        let Err(unknown) = method(&document, "ad") else {
            panic!()
        };
        assert!(unknown
            .message()
            .contains("no method `ad`; did you mean `add`?"));
    }

    #[test]
    fn a_schema_that_contains_itself_is_followed_only_so_far() {
        let mut document = document();
        document.components.schemas.insert(
            "Tree".into(),
            json!({"anyOf": [{"$ref": "#/components/schemas/Tree"}, {"type": "integer"}]}),
        );
        let tree = ContentDescriptor::new("t", json!({"$ref": "#/components/schemas/Tree"}));
        assert!(
            json_types(&document, &tree.schema).is_empty(),
            "too deep reads as any"
        );
        assert_eq!(from_text(&document, &tree, "7".into()).unwrap(), json!("7"));
    }

    #[test]
    fn arguments_take_the_shape_the_method_reads() {
        let mut by_position = Method::new("m");
        by_position.param_structure = ParamStructure::ByPosition;
        by_position.params = ["a", "b", "c"]
            .map(|name| ContentDescriptor::new(name, json!({})))
            .to_vec();
        let two = named(&[
            ("b", NamedValue::Json(json!(2))),
            ("a", NamedValue::Json(json!(1))),
        ]);
        assert_eq!(shaped(&by_position, two.clone()), json!([1, 2]));
        let gap = named(&[("c", NamedValue::Json(json!(3)))]);
        assert_eq!(shaped(&by_position, gap), json!([null, null, 3]));
        let mut by_name = by_position.clone();
        by_name.param_structure = ParamStructure::ByName;
        assert_eq!(
            shaped(&by_name, Args::Positional(vec![json!(1), json!(2)])),
            json!({"a": 1, "b": 2})
        );
        // Either: as given.
        by_name.param_structure = ParamStructure::Either;
        assert_eq!(shaped(&by_name, two), json!({"b": 2, "a": 1}));
    }
}
