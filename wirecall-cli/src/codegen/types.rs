//! JSON Schema (Draft-07, as the OpenRPC builder writes it) to TypeScript
//! types.

use std::fmt::Write;

use serde_json::{Map, Value};

use super::names::{member_key, pascal, string_literal, tsdoc};

/// Integer formats wider than a JavaScript number holds exactly: the client
/// reads a value past 2^53 as a `bigint`, so the type says it may be one.
const WIDE_INTEGERS: &[&str] = &["int64", "uint64", "int128", "uint128", "int", "uint"];

/// How deep a schema is followed; deeper reads as `unknown`.
const MAX_DEPTH: usize = 32;

/// The TypeScript type of `schema`, laid out for `indent`.
pub(crate) fn type_of(schema: &Value, indent: &str) -> String {
    ts(schema, indent, 0)
}

/// The name a shared schema (`#/components/schemas/NAME`) gets.
pub(crate) fn component_name(name: &str) -> String {
    pascal(name)
}

fn ts(schema: &Value, indent: &str, depth: usize) -> String {
    let Some(object) = schema.as_object() else {
        // `true` (anything) and `false` (nothing) are schemas too.
        return if schema == &Value::Bool(false) {
            "never"
        } else {
            "unknown"
        }
        .into();
    };
    if depth > MAX_DEPTH {
        return "unknown".into();
    }
    let nullable = object.get("nullable") == Some(&Value::Bool(true));
    let mut ty = shape(object, indent, depth);
    if nullable && ty != "unknown" && !ty.ends_with("| null") {
        ty = format!("{} | null", group(&ty));
    }
    ty
}

fn shape(object: &Map<String, Value>, indent: &str, depth: usize) -> String {
    if let Some(target) = object.get("$ref").and_then(Value::as_str) {
        return target
            .strip_prefix("#/components/schemas/")
            .or_else(|| target.strip_prefix("#/definitions/"))
            .or_else(|| target.strip_prefix("#/$defs/"))
            // A JSON pointer escapes `/` as `~1` and `~` as `~0`.
            .map(|name| name.replace("~1", "/").replace("~0", "~"))
            .map_or_else(|| "unknown".into(), |name| component_name(&name));
    }
    if let Some(value) = object.get("const") {
        return literal(value);
    }
    if let Some(values) = object.get("enum").and_then(Value::as_array) {
        return union(values.iter().map(literal).collect());
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = object.get(key).and_then(Value::as_array) {
            let mut types: Vec<String> = branches
                .iter()
                .map(|branch| ts(branch, indent, depth + 1))
                .collect();
            // Members beside the union (a tagged enum's shared ones) apply to each branch.
            if object.contains_key("properties") {
                let shared = object_type(object, indent, depth);
                types = types
                    .into_iter()
                    .map(|t| format!("({shared}) & {}", group(&t)))
                    .collect();
            }
            return union(types);
        }
    }
    if let Some(parts) = object.get("allOf").and_then(Value::as_array) {
        let types: Vec<String> = parts
            .iter()
            .map(|part| group(&ts(part, indent, depth + 1)))
            .collect();
        return if types.is_empty() {
            "unknown".into()
        } else {
            types.join(" & ")
        };
    }
    match object.get("type") {
        Some(Value::String(name)) => of_type(name, object, indent, depth),
        Some(Value::Array(names)) => union(
            names
                .iter()
                .filter_map(Value::as_str)
                .map(|name| of_type(name, object, indent, depth))
                .collect(),
        ),
        _ if object.contains_key("properties") => object_type(object, indent, depth),
        _ => "unknown".into(),
    }
}

fn of_type(name: &str, object: &Map<String, Value>, indent: &str, depth: usize) -> String {
    match name {
        "string" => "string".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        "number" => "number".into(),
        "integer" => {
            let format = object.get("format").and_then(Value::as_str).unwrap_or("");
            if WIDE_INTEGERS.contains(&format) {
                "wirecall.Int64".into()
            } else {
                "number".into()
            }
        }
        "array" => array_type(object, indent, depth),
        "object" => object_type(object, indent, depth),
        _ => "unknown".into(),
    }
}

fn array_type(object: &Map<String, Value>, indent: &str, depth: usize) -> String {
    let tuple = object
        .get("prefixItems")
        .or_else(|| object.get("items").filter(|items| items.is_array()))
        .and_then(Value::as_array);
    if let Some(items) = tuple {
        let types: Vec<String> = items
            .iter()
            .map(|item| ts(item, indent, depth + 1))
            .collect();
        return format!("[{}]", types.join(", "));
    }
    match object.get("items") {
        Some(items) => format!("{}[]", group(&ts(items, indent, depth + 1))),
        None => "unknown[]".into(),
    }
}

fn object_type(object: &Map<String, Value>, indent: &str, depth: usize) -> String {
    let empty = Map::new();
    let properties = object
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let rest = match object.get("additionalProperties") {
        Some(Value::Bool(false)) => None,
        Some(schema @ Value::Object(_)) => Some(ts(schema, indent, depth + 1)),
        // Open objects with named members stay as written; a bare object is a map.
        _ if properties.is_empty() => Some("unknown".into()),
        _ => None,
    };
    if properties.is_empty() {
        return rest.map_or_else(
            || "Record<string, never>".into(),
            |value| format!("{{ [key: string]: {value} }}"),
        );
    }
    let inner = format!("{indent}  ");
    let mut out = String::from("{\n");
    for (name, schema) in properties {
        let optional = if required.contains(&name.as_str()) {
            ""
        } else {
            "?"
        };
        let description = schema.get("description").and_then(Value::as_str);
        out.push_str(&tsdoc(&inner, description, &[]));
        let _ = writeln!(
            out,
            "{inner}{}{optional}: {};",
            member_key(name),
            ts(schema, &inner, depth + 1)
        );
    }
    out.push_str(indent);
    out.push('}');
    // Other members beside named ones: an intersection, since an index
    // signature in the same object would have to admit every member's type.
    if let Some(value) = rest {
        out = format!("{out} & {{ [key: string]: {value} }}");
    }
    out
}

fn literal(value: &Value) -> String {
    match value {
        Value::String(text) => string_literal(text),
        Value::Null | Value::Bool(_) | Value::Number(_) => value.to_string(),
        // Arrays and objects as literal types are rare; their JSON is valid TypeScript.
        other => other.to_string(),
    }
}

fn union(mut types: Vec<String>) -> String {
    let mut seen = Vec::new();
    types.retain(|t| {
        let new = !seen.contains(t);
        seen.push(t.clone());
        new
    });
    if types.iter().any(|t| t == "unknown") {
        return "unknown".into();
    }
    match types.len() {
        0 => "never".into(),
        1 => types.remove(0),
        _ => types
            .iter()
            .map(|t| group(t))
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

/// Parenthesized when it is a union or intersection, so it can be a part.
fn group(ty: &str) -> String {
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for c in ty.chars() {
        if in_string {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' | '(' | '<' => depth += 1,
            '}' | ']' | ')' | '>' => depth -= 1,
            '|' | '&' if depth == 0 => return format!("({ty})"),
            _ => {}
        }
    }
    ty.to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::type_of;

    #[allow(clippy::needless_pass_by_value)] // reads better with `json!` at each call
    fn ts(schema: serde_json::Value) -> String {
        type_of(&schema, "")
    }

    #[test]
    fn scalars_and_nullable() {
        assert_eq!(ts(json!({"type": "string"})), "string");
        assert_eq!(ts(json!({"type": "integer", "format": "uint32"})), "number");
        assert_eq!(
            ts(json!({"type": "integer", "format": "int64"})),
            "wirecall.Int64"
        );
        assert_eq!(
            ts(json!({"type": ["integer", "null"], "format": "uint8"})),
            "number | null"
        );
        assert_eq!(
            ts(json!({"type": "string", "nullable": true})),
            "string | null"
        );
        assert_eq!(ts(json!(true)), "unknown");
        assert_eq!(ts(json!({})), "unknown");
    }

    #[test]
    fn enums_refs_arrays_tuples_and_maps() {
        assert_eq!(
            ts(json!({"type": "string", "enum": ["a", "b"]})),
            r#""a" | "b""#
        );
        assert_eq!(
            ts(json!({"$ref": "#/components/schemas/room_event"})),
            "RoomEvent"
        );
        assert_eq!(
            ts(
                json!({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}})
            ),
            "(string | null)[]"
        );
        assert_eq!(
            ts(
                json!({"type": "array", "items": [{"type": "string"}, {"type": "integer", "format": "uint32"}]})
            ),
            "[string, number]"
        );
        assert_eq!(
            ts(json!({"type": "object", "additionalProperties": {"type": "number"}})),
            "{ [key: string]: number }"
        );
        // Named members beside other ones (a flattened map) intersect.
        assert_eq!(
            ts(
                json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": {"type": "number"}})
            ),
            "{\n  name: string;\n} & { [key: string]: number }"
        );
        // A bracket inside a string literal does not change the grouping.
        assert_eq!(
            ts(json!({"type": "array", "items": {"enum": ["{", "x"]}})),
            "(\"{\" | \"x\")[]"
        );
    }

    #[test]
    fn objects_with_optional_members_and_tagged_unions() {
        let point = json!({
            "type": "object",
            "properties": {"x": {"type": "number", "description": "Across."}, "label": {"type": ["string", "null"]}},
            "required": ["x"]
        });
        assert_eq!(
            ts(point),
            "{\n  label?: string | null;\n  /**\n   * Across.\n   */\n  x: number;\n}"
        );
        let tagged = json!({"oneOf": [
            {"type": "object", "properties": {"kind": {"type": "string", "const": "a"}}, "required": ["kind"]},
            {"type": "object", "properties": {"kind": {"type": "string", "const": "b"}, "n": {"type": "number"}}, "required": ["kind", "n"]}
        ]});
        assert_eq!(
            ts(tagged),
            "{\n  kind: \"a\";\n} | {\n  kind: \"b\";\n  n: number;\n}"
        );
    }
}
