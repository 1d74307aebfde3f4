//! The frame classifier's cases.

use super::*;
use crate::protocol::ErrorCode;

fn single(frame: &str) -> Incoming<'_> {
    match Message::parse(frame) {
        Message::Single(incoming) => incoming,
        Message::Batch(_) => panic!("expected a single message"),
    }
}

fn error_code(incoming: &Incoming<'_>) -> ErrorCode {
    match incoming {
        Incoming::Invalid { error, .. } => error.code,
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_batch_element_that_is_an_array_is_refused_on_its_own() {
    // serde would fill the member struct from an array in order.
    let frame = r#"[["2.0","sum",[1,2],1],{"jsonrpc":"2.0","method":"m","id":2}]"#;
    let Message::Batch(items) = Message::parse(frame) else {
        panic!("expected a batch")
    };
    assert!(
        matches!(&items[0], Incoming::Invalid { id: Id::Null, .. }),
        "{:?}",
        items[0]
    );
    assert_eq!(error_code(&items[0]), ErrorCode::InvalidRequest);
    assert!(matches!(&items[1], Incoming::Request(_)));
}

#[test]
fn null_id_is_a_call_and_missing_id_a_notification() {
    let call = single(r#"{"jsonrpc":"2.0","method":"m","id":null}"#);
    assert!(matches!(
        call,
        Incoming::Request(Request { id: Id::Null, .. })
    ));
    let note = single(r#"{"jsonrpc":"2.0","method":"m"}"#);
    assert!(matches!(note, Incoming::Notification(_)));
}

#[test]
fn wrong_member_types_are_invalid_requests() {
    for frame in [
        r#"{"jsonrpc":"2.0","method":"m","params":3,"id":1}"#,
        r#"{"jsonrpc":"2.0","method":"m","params":"x","id":1}"#,
        r#"{"jsonrpc":"2.0","method":"m","params":null,"id":1}"#,
        r#"{"jsonrpc":"2.0","method":7,"id":1}"#,
        r#"{"jsonrpc":"1.0","method":"m","id":1}"#,
        r#"{"jsonrpc":2.0,"method":"m","id":1}"#,
        r#"{"method":"m","id":1}"#,
        r#"{"jsonrpc":"2.0","method":"m","id":{}}"#,
        r#"{"jsonrpc":"2.0","method":"m","id":true}"#,
        r#"{"jsonrpc":"2.0","method":"m","method":"n","id":1}"#,
        "42",
        r#""text""#,
    ] {
        assert_eq!(
            error_code(&single(frame)),
            ErrorCode::InvalidRequest,
            "{frame}"
        );
    }
}

#[test]
fn a_detectable_id_is_kept_on_invalid_requests() {
    let incoming = single(r#"{"jsonrpc":"2.0","method":1,"id":"x"}"#);
    assert!(matches!(incoming, Incoming::Invalid { id: Id::String(ref s), .. } if &**s == "x"));
    let incoming = single(r#"{"jsonrpc":"2.0","method":"m","id":[1]}"#);
    assert!(matches!(incoming, Incoming::Invalid { id: Id::Null, .. }));
}

#[test]
fn broken_json_is_a_parse_error() {
    for frame in [
        "{",
        r#"{"jsonrpc":"2.0""#,
        "1 2",
        "",
        "nul",
        r#"{"a":1}x"#,
        "42 x",
    ] {
        assert_eq!(
            error_code(&single(frame)),
            ErrorCode::ParseError,
            "{frame:?}"
        );
    }
}

#[test]
fn escaped_method_names_are_decoded() {
    let incoming = single(r#"{"jsonrpc":"2\u002e0","method":"a\u0062c","id":1}"#);
    let Incoming::Request(call) = incoming else {
        panic!("{incoming:?}")
    };
    assert_eq!(call.method, "abc");
}

#[test]
fn deep_nesting_is_a_parse_error_not_a_crash() {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","method":"m","params":{}{},"id":1}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(error_code(&single(&deep)), ErrorCode::ParseError);
}

#[test]
fn depth_counting_skips_strings() {
    assert!(!nested_deeper_than(r#"[[["[[[[\"["]]]"#, 3));
    assert!(nested_deeper_than("[[[[]]]]", 3));
    assert!(!nested_deeper_than("[[[]]]", 3));
}

#[test]
fn responses_are_classified() {
    let ok = single(r#"{"jsonrpc":"2.0","result":[1],"id":3}"#);
    assert!(matches!(ok, Incoming::Response(Response { outcome: Ok(r), .. }) if r.get() == "[1]"));
    let err = single(r#"{"jsonrpc":"2.0","error":{"code":-1,"message":"no"},"id":3}"#);
    assert!(matches!(
        err,
        Incoming::Response(Response {
            outcome: Err(_),
            ..
        })
    ));
    for frame in [
        r#"{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":""},"id":3}"#,
        r#"{"jsonrpc":"2.0","result":1}"#,
        r#"{"jsonrpc":"2.0","error":{"code":"x"},"id":3}"#,
    ] {
        assert!(
            matches!(single(frame), Incoming::BadResponse { .. }),
            "{frame}"
        );
    }
}

#[test]
fn batches_judge_each_element() {
    let Message::Batch(items) =
        Message::parse(r#"[1, {"jsonrpc":"2.0","method":"m"}, ["2.0","m"]]"#)
    else {
        panic!()
    };
    assert_eq!(items.len(), 3);
    assert_eq!(error_code(&items[0]), ErrorCode::InvalidRequest);
    assert!(matches!(items[1], Incoming::Notification(_)));
    assert_eq!(error_code(&items[2]), ErrorCode::InvalidRequest);
    assert_eq!(error_code(&single("[]")), ErrorCode::InvalidRequest);
    assert_eq!(error_code(&single(" [1,")), ErrorCode::ParseError);
}
