//! Frame classification: any text classifies without panicking, and every
//! request's id survives a round trip through an encoded answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wirecall::protocol::{encode, Incoming, Message};

fuzz_target!(|frame: &str| {
    let values = match Message::parse(frame) {
        Message::Single(one) => vec![one],
        Message::Batch(many) => many,
    };
    for value in values {
        let (id, _) = match value {
            Incoming::Request(call) => (call.id, call.method),
            _ => continue,
        };
        let answer = encode::response_ok(&id, &serde_json::value::RawValue::from_string("1".into()).unwrap());
        match Message::parse(&answer) {
            Message::Single(Incoming::Response(response)) => {
                assert_eq!(response.id.to_string(), id.to_string(), "{answer}");
            }
            other => panic!("an encoded answer classified as {other:?}: {answer}"),
        }
    }
});
