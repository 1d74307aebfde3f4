//! The conformance table: every example of the JSON-RPC 2.0 specification
//! plus edge cases, and a runner that plays it over a real socket. Replies
//! are compared by `id`, `result` and error `code`; message texts are free.

// Expected values are built inline from `json!` temporaries.
#![allow(clippy::needless_pass_by_value, dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// One request frame and the reply it must get (`None`: nothing at all).
pub(crate) struct Case {
    pub(crate) name: &'static str,
    pub(crate) request: String,
    pub(crate) expect: Option<Value>,
}

fn case(name: &'static str, request: &str, expect: Option<Value>) -> Case {
    Case {
        name,
        request: request.to_owned(),
        expect,
    }
}

fn ok(id: Value, result: Value) -> Value {
    json!({ "id": id, "result": result })
}

fn err(id: Value, code: i64) -> Value {
    json!({ "id": id, "code": code })
}

/// Keeps only what the spec fixes: `id`, `result`, `error.code`.
fn essence(reply: &Value) -> Value {
    assert_eq!(
        reply["jsonrpc"], "2.0",
        "reply without jsonrpc 2.0: {reply}"
    );
    match reply.get("error") {
        Some(error) => {
            assert!(
                reply.get("result").is_none(),
                "both result and error: {reply}"
            );
            assert!(
                error["message"].is_string(),
                "error without message: {reply}"
            );
            json!({ "id": reply["id"], "code": error["code"] })
        }
        None => json!({ "id": reply["id"], "result": reply["result"] }),
    }
}

fn sorted(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by_key(ToString::to_string);
    items
}

pub(crate) fn check(case: &Case, reply: Option<String>) {
    match (&case.expect, reply) {
        (None, None) => {}
        (None, Some(reply)) => panic!("{}: expected no reply, got {reply}", case.name),
        (Some(expect), None) => panic!("{}: expected {expect}, got no reply", case.name),
        (Some(expect), Some(reply)) => {
            let reply: Value = serde_json::from_str(&reply)
                .unwrap_or_else(|e| panic!("{}: reply is not JSON ({e}): {reply}", case.name));
            match (expect, &reply) {
                (Value::Array(expect), Value::Array(got)) => {
                    let got = got.iter().map(essence).collect();
                    assert_eq!(sorted(got), sorted(expect.clone()), "{}", case.name);
                }
                (Value::Array(_), _) => {
                    panic!("{}: expected a batch reply, got {reply}", case.name)
                }
                (expect, got) => assert_eq!(&essence(got), expect, "{}", case.name),
            }
        }
    }
}

/// Every case of the tables, in order.
#[allow(clippy::too_many_lines)] // one table, read top to bottom
pub(crate) fn cases() -> Vec<Case> {
    let deep = format!(
        r#"{{"jsonrpc":"2.0","method":"sum","params":{}{},"id":1}}"#,
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    vec![
        // The specification's examples.
        case(
            "positional 1",
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
            Some(ok(json!(1), json!(19))),
        ),
        case(
            "positional 2",
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}"#,
            Some(ok(json!(2), json!(-19))),
        ),
        case(
            "named 1",
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
            Some(ok(json!(3), json!(19))),
        ),
        case(
            "named 2",
            r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}"#,
            Some(ok(json!(4), json!(19))),
        ),
        case(
            "notification update",
            r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
            None,
        ),
        case(
            "notification foobar",
            r#"{"jsonrpc": "2.0", "method": "foobar"}"#,
            None,
        ),
        case(
            "non-existent method",
            r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#,
            Some(err(json!("1"), -32601)),
        ),
        case(
            "invalid JSON",
            r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
            Some(err(Value::Null, -32700)),
        ),
        case(
            "invalid Request object",
            r#"{"jsonrpc": "2.0", "method": 1, "params": "bar"}"#,
            Some(err(Value::Null, -32600)),
        ),
        case(
            "batch, invalid JSON",
            r#"[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]"#,
            Some(err(Value::Null, -32700)),
        ),
        case("empty array", "[]", Some(err(Value::Null, -32600))),
        case(
            "invalid batch, not empty",
            "[1]",
            Some(json!([err(Value::Null, -32600)])),
        ),
        case(
            "invalid batch",
            "[1,2,3]",
            Some(json!([
                err(Value::Null, -32600),
                err(Value::Null, -32600),
                err(Value::Null, -32600)
            ])),
        ),
        case(
            "mixed batch",
            r#"[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
    ]"#,
            Some(json!([
                ok(json!("1"), json!(7)),
                ok(json!("2"), json!(19)),
                err(Value::Null, -32600),
                err(json!("5"), -32601),
                ok(json!("9"), json!(["hello", 5])),
            ])),
        ),
        case(
            "all-notification batch",
            r#"[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
    ]"#,
            None,
        ),
        // Ids.
        case(
            "fractional id echoed",
            r#"{"jsonrpc":"2.0","method":"sum","params":[1],"id":1.5}"#,
            Some(ok(json!(1.5), json!(1))),
        ),
        case(
            "negative zero id",
            r#"{"jsonrpc":"2.0","method":"sum","params":[1],"id":-0}"#,
            Some(ok(serde_json::from_str("-0").unwrap(), json!(1))),
        ),
        case(
            "string id",
            r#"{"jsonrpc":"2.0","method":"sum","params":[2],"id":"abc"}"#,
            Some(ok(json!("abc"), json!(2))),
        ),
        case(
            "null id is a call",
            r#"{"jsonrpc":"2.0","method":"sum","params":[3],"id":null}"#,
            Some(ok(Value::Null, json!(3))),
        ),
        case(
            "boolean id",
            r#"{"jsonrpc":"2.0","method":"sum","params":[1],"id":true}"#,
            Some(err(Value::Null, -32600)),
        ),
        case(
            "object id",
            r#"{"jsonrpc":"2.0","method":"sum","params":[1],"id":{"a":1}}"#,
            Some(err(Value::Null, -32600)),
        ),
        case(
            "array id",
            r#"{"jsonrpc":"2.0","method":"sum","params":[1],"id":[1]}"#,
            Some(err(Value::Null, -32600)),
        ),
        // Members.
        case(
            "jsonrpc 1.0",
            r#"{"jsonrpc":"1.0","method":"sum","params":[1],"id":1}"#,
            Some(err(json!(1), -32600)),
        ),
        case(
            "jsonrpc missing",
            r#"{"method":"sum","params":[1],"id":1}"#,
            Some(err(json!(1), -32600)),
        ),
        case(
            "jsonrpc as number",
            r#"{"jsonrpc":2.0,"method":"sum","params":[1],"id":1}"#,
            Some(err(json!(1), -32600)),
        ),
        case(
            "method missing",
            r#"{"jsonrpc":"2.0","params":[1],"id":1}"#,
            Some(err(json!(1), -32600)),
        ),
        case(
            "params scalar",
            r#"{"jsonrpc":"2.0","method":"sum","params":3,"id":1}"#,
            Some(err(json!(1), -32600)),
        ),
        case(
            "params string",
            r#"{"jsonrpc":"2.0","method":"sum","params":"x","id":1}"#,
            Some(err(json!(1), -32600)),
        ),
        case(
            "params null",
            r#"{"jsonrpc":"2.0","method":"sum","params":null,"id":1}"#,
            Some(err(json!(1), -32600)),
        ),
        case(
            "invalid notification is answered",
            r#"{"jsonrpc":"2.0","method":"sum","params":3}"#,
            Some(err(Value::Null, -32600)),
        ),
        case(
            "unknown members ignored",
            r#"{"jsonrpc":"2.0","method":"sum","params":[4],"id":1,"extra":{"x":[1]}}"#,
            Some(ok(json!(1), json!(4))),
        ),
        case(
            "surrounding whitespace",
            " \n {\"jsonrpc\":\"2.0\",\"method\":\"sum\",\"params\":[5],\"id\":1} \n",
            Some(ok(json!(1), json!(5))),
        ),
        case("not an object", "42", Some(err(Value::Null, -32600))),
        case(
            "trailing garbage",
            r#"{"jsonrpc":"2.0","method":"sum","params":[1],"id":1} x"#,
            Some(err(Value::Null, -32700)),
        ),
        case(
            "nesting past the limit",
            &deep,
            Some(err(Value::Null, -32700)),
        ),
        // Params and methods.
        case(
            "too many positional",
            r#"{"jsonrpc":"2.0","method":"subtract","params":[1,2,3],"id":7}"#,
            Some(err(json!(7), -32602)),
        ),
        case(
            "too few positional",
            r#"{"jsonrpc":"2.0","method":"subtract","params":[1],"id":7}"#,
            Some(err(json!(7), -32602)),
        ),
        case(
            "wrong type",
            r#"{"jsonrpc":"2.0","method":"subtract","params":["a",1],"id":7}"#,
            Some(err(json!(7), -32602)),
        ),
        case(
            "unknown named",
            r#"{"jsonrpc":"2.0","method":"subtract","params":{"minuend":1,"subtrahend":2,"x":3},"id":7}"#,
            Some(err(json!(7), -32602)),
        ),
        case(
            // `rpc.discover` is served when a router has a document; other
            // `rpc.` names are never registered.
            "reserved rpc. name",
            r#"{"jsonrpc":"2.0","method":"rpc.listMethods","id":8}"#,
            Some(err(json!(8), -32601)),
        ),
        case(
            "notification to unknown method",
            r#"{"jsonrpc":"2.0","method":"nope","params":[1]}"#,
            None,
        ),
        case(
            "notification with bad params",
            r#"{"jsonrpc":"2.0","method":"subtract","params":["x"]}"#,
            None,
        ),
        case(
            "handler panic",
            r#"{"jsonrpc":"2.0","method":"panic","id":9}"#,
            Some(err(json!(9), -32603)),
        ),
        case(
            "batch of one",
            r#"[{"jsonrpc":"2.0","method":"sum","params":[1,1],"id":1}]"#,
            Some(json!([ok(json!(1), json!(2))])),
        ),
        case(
            "nested batch",
            "[[]]",
            Some(json!([err(Value::Null, -32600)])),
        ),
        case(
            "batch with big id",
            r#"[{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}, {"jsonrpc":"2.0","method":"sum","params":[2],"id":"1"}]"#,
            Some(json!([ok(json!(1), json!(1)), ok(json!("1"), json!(2))])),
        ),
    ]
}

/// Plays every case over a WebSocket at `url`. After each case a marker
/// call shows whether the case itself got a reply (and nothing more).
pub(crate) async fn run_over_socket(url: &str) {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let marker = r#"{"jsonrpc":"2.0","method":"subtract","params":[0,0],"id":"marker"}"#;
    for case in &cases() {
        socket
            .send(Message::text(case.request.clone()))
            .await
            .unwrap();
        socket.send(Message::text(marker)).await.unwrap();
        let first = next_text(&mut socket).await;
        let reply = if first.contains(r#""id":"marker""#) {
            None
        } else {
            let after = next_text(&mut socket).await;
            assert!(
                after.contains(r#""id":"marker""#),
                "{}: extra frame {after}",
                case.name
            );
            Some(first)
        };
        check(case, reply);
    }
}

async fn next_text<S>(socket: &mut S) -> String
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a reply within 5 s")
            .expect("the socket stays open")
            .expect("a readable frame");
        if let Message::Text(text) = frame {
            return text.as_str().to_owned();
        }
    }
}
