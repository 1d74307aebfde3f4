//! Writing outgoing frames straight into a `String`: ids and raw params are
//! copied as they are, never parsed again.

use serde_json::value::RawValue;

use super::json_string::push_json_string;
use super::{ErrorObject, Id};

/// A successful response: `{"jsonrpc":"2.0","id":…,"result":…}`.
pub fn response_ok(id: &Id, result: &RawValue) -> String {
    let mut out = String::with_capacity(40 + result.get().len());
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    id.write_json(&mut out);
    out.push_str(r#","result":"#);
    out.push_str(result.get());
    out.push('}');
    out
}

/// The start of a successful response, up to its result:
/// `{"jsonrpc":"2.0","id":…,"result":`.
pub(crate) fn response_ok_head(id: &Id) -> String {
    let mut out = String::with_capacity(64);
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    id.write_json(&mut out);
    out.push_str(r#","result":"#);
    out
}

/// Finishes [`response_ok_head`] with `result`, serialized in place.
pub(crate) fn response_ok_with<T: serde::Serialize + ?Sized>(
    head: String,
    result: &T,
) -> serde_json::Result<String> {
    let mut out = head.into_bytes();
    serde_json::to_writer(&mut out, result)?;
    out.push(b'}');
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

/// A failed response: `{"jsonrpc":"2.0","id":…,"error":{…}}`.
pub fn response_err(id: &Id, error: &ErrorObject) -> String {
    let mut out = String::with_capacity(80 + error.message.len());
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    id.write_json(&mut out);
    out.push_str(r#","error":{"code":"#);
    out.push_str(&error.code.code().to_string());
    out.push_str(r#","message":"#);
    push_json_string(&mut out, &error.message);
    if let Some(data) = &error.data {
        out.push_str(r#","data":"#);
        out.push_str(data.get());
    }
    out.push_str("}}");
    out
}

/// A call: `{"jsonrpc":"2.0","id":…,"method":…,"params":…}`.
pub fn request(id: &Id, method: &str, params: Option<&RawValue>) -> String {
    let mut out = String::with_capacity(48 + method.len() + params.map_or(0, |p| p.get().len()));
    out.push_str(r#"{"jsonrpc":"2.0","id":"#);
    id.write_json(&mut out);
    push_method_and_params(&mut out, method, params);
    out
}

/// A notification: `{"jsonrpc":"2.0","method":…,"params":…}`.
pub fn notification(method: &str, params: Option<&RawValue>) -> String {
    let mut out = String::with_capacity(40 + method.len() + params.map_or(0, |p| p.get().len()));
    out.push_str(r#"{"jsonrpc":"2.0""#);
    push_method_and_params(&mut out, method, params);
    out
}

fn push_method_and_params(out: &mut String, method: &str, params: Option<&RawValue>) {
    out.push_str(r#","method":"#);
    push_json_string(out, method);
    if let Some(params) = params {
        out.push_str(r#","params":"#);
        out.push_str(params.get());
    }
    out.push('}');
}

/// Joins already-encoded responses into one batch frame.
pub fn batch<I: IntoIterator<Item = String>>(parts: I) -> String {
    let mut out = String::from("[");
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&part);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn frames_are_valid_json() {
        let frames = [
            response_ok(&Id::from(1), &raw("[1,2]")),
            response_err(
                &Id::from("a\"b"),
                &ErrorObject::new(ErrorCode::InvalidParams, "bad \n line").with_data(&[1]),
            ),
            request(&Id::Null, "sum", Some(&raw(r#"{"a":1}"#))),
            notification("tick", None),
            batch(vec![
                response_ok(&Id::from(1), &raw("1")),
                response_ok(&Id::from(2), &raw("2")),
            ]),
        ];
        for frame in frames {
            serde_json::from_str::<serde_json::Value>(&frame)
                .unwrap_or_else(|e| panic!("{frame}: {e}"));
        }
    }

    #[test]
    fn error_response_shape() {
        let frame = response_err(
            &Id::from(7),
            &ErrorObject::from_code(ErrorCode::MethodNotFound),
        );
        assert_eq!(
            frame,
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"Method not found"}}"#
        );
    }
}
