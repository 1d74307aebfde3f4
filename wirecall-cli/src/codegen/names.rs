//! TypeScript names and comments made from a document's wire names and
//! prose.

use std::fmt::Write;

/// Words TypeScript keeps for itself, so no generated name may be one.
const RESERVED: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "as",
    "implements",
    "interface",
    "let",
    "package",
    "private",
    "protected",
    "public",
    "static",
    "yield",
    "any",
    "boolean",
    "constructor",
    "declare",
    "get",
    "module",
    "require",
    "number",
    "set",
    "string",
    "symbol",
    "type",
    "from",
    "of",
    "unknown",
    "never",
    "object",
    "bigint",
    "undefined",
    "await",
    "async",
    "arguments",
    "eval",
];

/// The words of a wire name: split at anything that is not a letter or
/// digit, and where a lower-case letter meets an upper-case one.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            previous_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && previous_lower {
            words.push(std::mem::take(&mut word));
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        word.push(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_ascii_uppercase().to_string() + chars.as_str()
    })
}

/// `chat_join` → `chatJoin`: a function or member name.
pub(crate) fn camel(name: &str) -> String {
    let words = words(name);
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i == 0 {
            out.push_str(&word.to_ascii_lowercase());
        } else {
            out.push_str(&capitalized(word));
        }
    }
    identifier(out)
}

/// `room_event` → `RoomEvent`: a type name.
pub(crate) fn pascal(name: &str) -> String {
    identifier(words(name).iter().map(|w| capitalized(w)).collect())
}

/// A usable identifier: not empty, not starting with a digit, not reserved.
fn identifier(mut name: String) -> String {
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if RESERVED.contains(&name.as_str()) {
        name.push('_');
    }
    name
}

/// An object member's key: bare when it is an identifier, quoted otherwise.
pub(crate) fn member_key(name: &str) -> String {
    let bare = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if bare {
        name.to_owned()
    } else {
        string_literal(name)
    }
}

/// `name`, or `name_`, `name__`, … : the first that `taken` does not hold,
/// which it then does.
pub(crate) fn unique(name: String, taken: &mut std::collections::BTreeSet<String>) -> String {
    let mut name = name;
    while taken.contains(&name) {
        name.push('_');
    }
    taken.insert(name.clone());
    name
}

/// One line of prose for a `//` comment: no line breaks that would end it.
pub(crate) fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A TypeScript string literal (JSON's escapes are TypeScript's too).
pub(crate) fn string_literal(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A TSDoc comment at `indent`, with optional tags; empty when there is
/// nothing to say.
pub(crate) fn tsdoc(indent: &str, text: Option<&str>, tags: &[String]) -> String {
    let mut lines: Vec<String> = text
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| {
            text.lines()
                .map(str::trim_end)
                .map(ToOwned::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !lines.is_empty() && !tags.is_empty() {
        lines.push(String::new());
    }
    lines.extend(tags.iter().cloned());
    if lines.is_empty() {
        return String::new();
    }
    let mut out = format!("{indent}/**\n");
    for line in lines {
        // A comment must not end early where the prose says `*/`.
        let line = line.replace("*/", "*\\/");
        if line.is_empty() {
            let _ = writeln!(out, "{indent} *");
        } else {
            let _ = writeln!(out, "{indent} * {line}");
        }
    }
    let _ = writeln!(out, "{indent} */");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_become_identifiers() {
        assert_eq!(camel("chat_join"), "chatJoin");
        assert_eq!(camel("subscribeCount"), "subscribeCount");
        assert_eq!(camel("calc.add"), "calcAdd");
        assert_eq!(camel("delete"), "delete_");
        assert_eq!(camel("2fa"), "_2fa");
        assert_eq!(pascal("room_event"), "RoomEvent");
        assert_eq!(pascal("HTTPApi"), "HTTPApi");
        assert_eq!(member_key("keepLabels"), "keepLabels");
        assert_eq!(member_key("with-dash"), "\"with-dash\"");
    }

    #[test]
    fn comments_cannot_end_early() {
        assert_eq!(
            tsdoc("  ", Some("Ends here */ not"), &["@deprecated".into()]),
            "  /**\n   * Ends here *\\/ not\n   *\n   * @deprecated\n   */\n"
        );
        assert_eq!(tsdoc("", None, &[]), "");
    }
}
