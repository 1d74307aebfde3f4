//! The command line's call arguments as JSON-RPC params: JSON values by
//! position, or `key=value` (text) and `key:=json` by name.

use serde_json::{Map, Value};

/// The arguments as given, before any document converts them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Args {
    None,
    Positional(Vec<Value>),
    Named(Vec<(String, NamedValue)>),
}

/// A value given by name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NamedValue {
    /// `key=value`: text, a string unless a document says otherwise.
    Text(String),
    /// `key:=json`.
    Json(Value),
}

impl Args {
    /// The params to send as they are: an array, an object, or none (`Null`).
    pub(crate) fn into_params(self) -> Value {
        match self {
            Args::None => Value::Null,
            Args::Positional(values) => Value::Array(values),
            Args::Named(pairs) => Value::Object(
                pairs
                    .into_iter()
                    .map(|(key, value)| {
                        let value = match value {
                            NamedValue::Text(text) => Value::String(text),
                            NamedValue::Json(value) => value,
                        };
                        (key, value)
                    })
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

/// Reads the arguments; a positional one must be JSON.
pub(crate) fn parse(args: &[String]) -> Result<Args, String> {
    parse_with(args, |_| false)
}

/// Reads the arguments; a positional one that is not JSON is taken as the
/// string it spells where `takes_text(position)` says the param there
/// takes a string (`quote ACME` rather than `quote '"ACME"'`).
pub(crate) fn parse_with(
    args: &[String],
    takes_text: impl Fn(usize) -> bool,
) -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut named = Vec::new();
    for (index, arg) in args.iter().enumerate() {
        match split_named(arg) {
            Some((key, Named::Json(text))) => {
                let value = serde_json::from_str(text).map_err(|err| {
                    format!("argument `{arg}`: the value after `:=` is not JSON ({err})")
                })?;
                named.push((key.to_owned(), NamedValue::Json(value)));
            }
            Some((key, Named::Text(text))) => {
                named.push((key.to_owned(), NamedValue::Text(text.to_owned())));
            }
            None => {
                let value = match serde_json::from_str(arg) {
                    Ok(value) => value,
                    Err(_) if takes_text(positional.len()) => Value::String(arg.clone()),
                    Err(_) => {
                        return Err(format!(
                            "argument {} (`{arg}`) is not JSON: quote a string ('\"{arg}\"'), \
                             or pass it by name as key=value",
                            index + 1
                        ))
                    }
                };
                positional.push(value);
            }
        }
    }
    if let Some(twice) = named
        .iter()
        .enumerate()
        .find(|(i, (key, _))| named[..*i].iter().any(|(k, _)| k == key))
    {
        return Err(format!("argument `{}` is given twice", twice.1 .0));
    }
    match (positional.is_empty(), named.is_empty()) {
        (true, true) => Ok(Args::None),
        (false, true) => Ok(Args::Positional(positional)),
        (true, false) => Ok(Args::Named(named)),
        (false, false) => Err(
            "arguments mix positions and names: pass all by position or all as key=value".into(),
        ),
    }
}

enum Named<'a> {
    Json(&'a str),
    Text(&'a str),
}

/// `key:=json` or `key=text`, when `key` looks like a name; anything else
/// is a positional JSON value (which may itself contain `=`).
fn split_named(arg: &str) -> Option<(&str, Named<'_>)> {
    let at = arg.find('=')?;
    let (key, json) = match arg[..at].strip_suffix(':') {
        Some(key) => (key, true),
        None => (&arg[..at], false),
    };
    let mut chars = key.chars();
    let first = chars.next()?;
    let is_name = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !is_name {
        return None;
    }
    let value = &arg[at + 1..];
    Some((
        key,
        if json {
            Named::Json(value)
        } else {
            Named::Text(value)
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(args: &[String]) -> Result<Value, String> {
        parse(args).map(Args::into_params)
    }

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn values_go_by_position_and_pairs_by_name() {
        assert_eq!(params(&strings(&["42", "23"])).unwrap(), json!([42, 23]));
        assert_eq!(
            params(&strings(&[r#""a=b""#, r#"{"k":"x=y"}"#])).unwrap(),
            json!(["a=b", {"k": "x=y"}])
        );
        assert_eq!(
            params(&strings(&["name=ada", "age:=36", "tags:=[1,2]"])).unwrap(),
            json!({"name": "ada", "age": 36, "tags": [1, 2]})
        );
        assert_eq!(params(&[]).unwrap(), Value::Null);
    }

    #[test]
    fn bad_arguments_say_what_to_fix() {
        let err = params(&strings(&["1", "hello"])).unwrap_err();
        assert!(err.starts_with("argument 2 (`hello`) is not JSON"), "{err}");
        let err = params(&strings(&["n:=nope"])).unwrap_err();
        assert!(err.contains("after `:=` is not JSON"), "{err}");
        let err = params(&strings(&["1", "a=b"])).unwrap_err();
        assert!(err.contains("mix positions and names"), "{err}");
    }

    #[test]
    fn a_bare_word_is_a_string_where_the_param_takes_text() {
        let second_is_text = |position| position == 1;
        let args = parse_with(&strings(&["1", "ACME"]), second_is_text).unwrap();
        assert_eq!(args.into_params(), json!([1, "ACME"]));
        // JSON still reads as JSON there, and a word elsewhere is refused.
        let args = parse_with(&strings(&["1", "true"]), second_is_text).unwrap();
        assert_eq!(args.into_params(), json!([1, true]));
        assert!(parse_with(&strings(&["ACME"]), second_is_text).is_err());
    }
}
