//! The subscription wire format, written and read in this one place.
//!
//! The convention jsonrpsee and Ethereum's `eth_subscribe` use: the subscribe
//! call answers with the subscription id; each item is a notification
//! `{"method":<name>,"params":{"subscription":<id>,"result":<item>}}`; the
//! unsubscribe call takes `[<id>]` and answers `true`. wirecall adds two
//! notices in the same envelope, as extra members that plain clients ignore:
//! `"lagged": n` when n items were dropped, and `"error": {…}` when the
//! serving end ends the subscription.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::encode::push_json_string;
use super::ErrorObject;

/// One subscription notification as the receiving end reads it.
#[derive(Debug)]
pub(crate) struct Notice<'a> {
    /// The subscription id's JSON text.
    pub(crate) subscription: &'a str,
    pub(crate) event: NoticeEvent<'a>,
}

/// What a notification says about its subscription.
#[derive(Debug)]
pub(crate) enum NoticeEvent<'a> {
    Item(&'a RawValue),
    Lagged(u64),
    Ended(ErrorObject),
}

/// Reads a notification's params as a subscription notice; `None` when they
/// are not one (an ordinary notification).
pub(crate) fn parse_notice(params: &RawValue) -> Option<Notice<'_>> {
    #[derive(Deserialize)]
    struct Wire<'a> {
        #[serde(borrow)]
        subscription: &'a RawValue,
        #[serde(borrow, default)]
        result: Option<&'a RawValue>,
        #[serde(default)]
        error: Option<ErrorObject>,
        #[serde(default)]
        lagged: Option<u64>,
    }
    // serde would read a struct from an array too; a notice is always an object.
    if !params.get().trim_start().starts_with('{') {
        return None;
    }
    let wire: Wire<'_> = serde_json::from_str(params.get()).ok()?;
    let event = if let Some(error) = wire.error {
        NoticeEvent::Ended(error)
    } else if let Some(lagged) = wire.lagged {
        NoticeEvent::Lagged(lagged)
    } else {
        NoticeEvent::Item(wire.result?)
    };
    Some(Notice {
        subscription: wire.subscription.get(),
        event,
    })
}

/// An item: `{"jsonrpc":"2.0","method":…,"params":{"subscription":…,"result":…}}`.
pub(crate) fn item(notification: &str, id: &RawValue, item: &RawValue) -> String {
    member(notification, id, "result", item.get())
}

/// A lag notice: `n` items were dropped before the next one.
pub(crate) fn lagged(notification: &str, id: &RawValue, missed: u64) -> String {
    member(notification, id, "lagged", &missed.to_string())
}

/// An end notice: the serving end ended the subscription with `error`.
pub(crate) fn ended(notification: &str, id: &RawValue, error: &ErrorObject) -> String {
    let error = serde_json::to_string(error).expect("an error object serializes");
    member(notification, id, "error", &error)
}

/// The params of an unsubscribe call: `[<id>]`.
pub(crate) fn unsubscribe_params(id: &RawValue) -> Box<RawValue> {
    RawValue::from_string(format!("[{}]", id.get())).expect("an id is valid JSON")
}

fn member(notification: &str, id: &RawValue, name: &str, value: &str) -> String {
    let mut frame = String::with_capacity(72 + notification.len() + value.len());
    frame.push_str(r#"{"jsonrpc":"2.0","method":"#);
    push_json_string(&mut frame, notification);
    frame.push_str(r#","params":{"subscription":"#);
    frame.push_str(id.get());
    frame.push_str(",\"");
    frame.push_str(name);
    frame.push_str("\":");
    frame.push_str(value);
    frame.push_str("}}");
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ErrorCode;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.into()).unwrap()
    }

    fn params_of(frame: &str) -> Box<RawValue> {
        let value: serde_json::Value = serde_json::from_str(frame).unwrap();
        serde_json::value::to_raw_value(&value["params"]).unwrap()
    }

    #[test]
    fn an_item_round_trips() {
        let frame = item("tick", &raw(r#""a1""#), &raw(r#"{"n":1}"#));
        assert_eq!(
            frame,
            r#"{"jsonrpc":"2.0","method":"tick","params":{"subscription":"a1","result":{"n":1}}}"#
        );
        let params = params_of(&frame);
        let notice = parse_notice(&params).unwrap();
        assert_eq!(notice.subscription, r#""a1""#);
        assert!(matches!(notice.event, NoticeEvent::Item(item) if item.get() == r#"{"n":1}"#));
    }

    #[test]
    fn lag_and_end_notices_round_trip() {
        let params = params_of(&lagged("tick", &raw("7"), 12));
        assert!(matches!(
            parse_notice(&params).unwrap().event,
            NoticeEvent::Lagged(12)
        ));
        let error = ErrorObject::new(ErrorCode::SUBSCRIPTION_ENDED, "done");
        let params = params_of(&ended("tick", &raw("7"), &error));
        match parse_notice(&params).unwrap().event {
            NoticeEvent::Ended(got) => assert_eq!(got, error),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ordinary_notifications_are_not_notices() {
        assert!(parse_notice(&raw("[1,2]")).is_none());
        assert!(parse_notice(&raw(r#"{"subscription":"a"}"#)).is_none());
        assert!(parse_notice(&raw(r#"{"text":"hi"}"#)).is_none());
    }

    #[test]
    fn unsubscribe_params_wrap_the_id() {
        assert_eq!(unsubscribe_params(&raw(r#""a1""#)).get(), r#"["a1"]"#);
    }
}
