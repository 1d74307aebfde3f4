//! Arguments checked against a method's entry in the server's document
//! before they are sent: names, counts, required params, and values against
//! their schemas; `key=value` text turned into the value its param takes;
//! the whole shaped as the method reads params.

use serde_json::{Map, Value};
use wirecall::openrpc::{ContentDescriptor, Document, Method, ParamStructure};

use crate::args::{Args, NamedValue};
use crate::document::type_label;
use crate::failure::Failure;

/// The params to send for `args`, checked against the method's params:
/// names and counts must fit, required params must be there, values must
/// fit their schemas, and `key=value` text becomes the number, boolean or
/// JSON value its param takes.
pub(crate) fn params(document: &Document, method: &Method, args: Args) -> Result<Value, Failure> {
    let usage = |why: String| Failure::Usage(format!("`{}`: {why}", method.name));
    let given: Vec<String> = match &args {
        Args::None => Vec::new(),
        Args::Positional(values) => {
            if values.len() > method.params.len() {
                let count = method.params.len();
                let noun = if count == 1 { "param" } else { "params" };
                return Err(usage(format!(
                    "takes at most {count} {noun}, {} given",
                    values.len()
                )));
            }
            for (value, param) in values.iter().zip(&method.params) {
                check_param(document, param, value).map_err(usage)?;
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
                check_param(document, param, &value).map_err(usage)?;
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
            let mut by_name: Map<String, Value> = match Args::Named(pairs).into_params() {
                Value::Object(members) => members,
                _ => Map::new(),
            };
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

/// `value` against `schema`: its JSON type, `enum`, `minimum` and
/// `maximum`, an object's required members, and the same for members and
/// items inside it, as far as [`MAX_DEPTH`]. `at` names the value in the
/// message (`book`, `book.year`, `tags[2]`).
fn check_value(
    document: &Document,
    schema: &Value,
    value: &Value,
    at: &str,
    depth: usize,
    budget: &mut usize,
) -> Result<(), String> {
    if depth > MAX_DEPTH || *budget == 0 {
        return Ok(());
    }
    *budget -= 1;
    let schema = document.resolve(schema);
    // A value fits a union when it fits one branch; else the first
    // branch's complaint is as good as any.
    for union in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(union) {
            let mut outcomes = Vec::new();
            for branch in branches {
                outcomes.push(check_value(document, branch, value, at, depth + 1, budget));
            }
            if !outcomes.iter().any(Result::is_ok) {
                if let Some(Err(first)) = outcomes.into_iter().next() {
                    return Err(first);
                }
            }
        }
    }
    let types = json_types(document, schema);
    if !(types.is_empty() || types.iter().any(|t| is_of_type(value, t))) {
        return Err(format!(
            "`{at}` takes {}, not {value}",
            type_label(document, schema)
        ));
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(value) {
            let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
            return Err(format!(
                "`{at}` takes one of {}, not {value}",
                allowed.join(", ")
            ));
        }
    }
    if let Some(number) = value.as_f64() {
        let bound = |key| schema.get(key).and_then(Value::as_f64);
        if let Some(min) = bound("minimum").filter(|min| number < *min) {
            return Err(format!("`{at}` must be at least {min}, not {value}"));
        }
        if let Some(max) = bound("maximum").filter(|max| number > *max) {
            return Err(format!("`{at}` must be at most {max}, not {value}"));
        }
    }
    match value {
        Value::Object(members) => {
            if let Some(Value::Array(required)) = schema.get("required") {
                if let Some(missing) = required
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|name| !members.contains_key(*name))
                {
                    return Err(format!("`{at}` needs a member `{missing}`"));
                }
            }
            if let Some(Value::Object(properties)) = schema.get("properties") {
                for (name, member) in members {
                    if let Some(property) = properties.get(name) {
                        let inner = format!("{at}.{name}");
                        check_value(document, property, member, &inner, depth + 1, budget)?;
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items").filter(|items| items.is_object()) {
                for (index, value) in items.iter().enumerate() {
                    let inner = format!("{at}[{index}]");
                    check_value(document, item, value, &inner, depth + 1, budget)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn check_param(
    document: &Document,
    param: &ContentDescriptor,
    value: &Value,
) -> Result<(), String> {
    let mut budget = CHECK_BUDGET;
    check_value(document, &param.schema, value, &param.name, 0, &mut budget)
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
pub(crate) fn json_types<'a>(document: &'a Document, schema: &'a Value) -> Vec<&'a str> {
    let mut budget = TYPE_BUDGET;
    types_within(document, schema, 0, &mut budget)
}

/// How deep `anyOf`/`oneOf`, members and items are followed: a schema that
/// contains itself (a recursive type) would otherwise be followed forever.
const MAX_DEPTH: usize = 8;

/// How many schemas one value's check, or one type lookup, may visit: a
/// document with wide unions at every level would otherwise cost
/// exponential time. Past it, the rest is taken as fitting.
const CHECK_BUDGET: usize = 10_000;
const TYPE_BUDGET: usize = 256;

fn types_within<'a>(
    document: &'a Document,
    schema: &'a Value,
    depth: usize,
    budget: &mut usize,
) -> Vec<&'a str> {
    if depth > MAX_DEPTH || *budget == 0 {
        return Vec::new();
    }
    *budget -= 1;
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
                    let branch_types = types_within(document, branch, depth + 1, budget);
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
        let Err(unknown) = crate::document::method(&document, "ad") else {
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

    #[test]
    fn values_are_checked_inside_against_their_schema() {
        let mut document = Document::new("t", "1");
        document.components.schemas.insert(
            "Book".into(),
            json!({
                "type": "object",
                "required": ["title", "year"],
                "properties": {
                    "title": {"type": "string"},
                    "year": {"type": "integer", "minimum": 0},
                    "tags": {"type": "array", "items": {"enum": ["new", "old"]}}
                }
            }),
        );
        let book = json!({"$ref": "#/components/schemas/Book"});
        let maybe_book = json!({"anyOf": [book.clone(), {"type": "null"}]});
        let check = |schema: &Value, value: Value| {
            let mut budget = CHECK_BUDGET;
            check_value(&document, schema, &value, "b", 0, &mut budget)
        };
        assert!(check(&book, json!({"title": "Dune", "year": 1965})).is_ok());
        assert!(check(&maybe_book, Value::Null).is_ok());
        assert_eq!(
            check(&book, json!({"title": "Dune"})).unwrap_err(),
            "`b` needs a member `year`"
        );
        assert_eq!(
            check(&maybe_book, json!({"title": "Dune", "year": -1})).unwrap_err(),
            "`b.year` must be at least 0, not -1"
        );
        assert_eq!(
            check(&book, json!({"title": 7, "year": 1})).unwrap_err(),
            "`b.title` takes string, not 7"
        );
        assert_eq!(
            check(
                &book,
                json!({"title": "t", "year": 1, "tags": ["new", "odd"]})
            )
            .unwrap_err(),
            r#"`b.tags[1]` takes one of "new", "old", not "odd""#
        );
    }

    #[test]
    fn wide_unions_at_every_level_cost_a_bounded_walk() {
        // 50 branches on each of 9 levels: 50^8 paths if each were followed.
        let mut document = document();
        for level in 0..9 {
            let next = json!({"$ref": format!("#/components/schemas/L{}", level + 1)});
            let schema = if level == 8 {
                json!({"type": "string"})
            } else {
                json!({"anyOf": vec![next; 50]})
            };
            document
                .components
                .schemas
                .insert(format!("L{level}"), schema);
        }
        let wide = ContentDescriptor::new("w", json!({"$ref": "#/components/schemas/L0"}));
        // Finishing at all is the point; the verdict past the budget is "fits".
        let _ = check_param(&document, &wide, &json!(5));
        let _ = json_types(&document, &wide.schema);
    }
}
