//! The subscription wire format, written and read in this one place.
//!
//! The convention jsonrpsee and Ethereum's `eth_subscribe` use: the subscribe
//! call answers with the subscription id; each item is a notification
//! `{"method":<name>,"params":{"subscription":<id>,"result":<item>}}`; the
//! unsubscribe call takes `[<id>]` and answers `true`. wirecall adds
//! notices in the same envelope, as members in place of `"result"`:
//! `"lagged": n` when n items were dropped, `"ended": true` when the serving
//! end finished the subscription normally, and `"error": {…}` when it ended
//! it for a fault (too slow, the connection closing). A normal end has a
//! notice of its own so that a plain client does not read it as a failure;
//! readers still take the older form of it, an `"error"` with code -32000.
//!
//! Items of a topic-fed subscription also carry `"position":{"epoch":…,
//! "offset":n}`. A client that saw a position can resume with the
//! `rpc.resume` call (a name the spec reserves for extensions, so no
//! service can clash with it and no plain client sends it):
//! `{"method":"rpc.resume","params":{"method":<subscribe>,"params":<its
//! params>,"epoch":…,"offset":n}}`. The answer is a new subscription id;
//! its first notice says how the resume went: `"resumed":{"missed":0}`
//! (every item after the position follows, exactly once), `"resumed":
//! {"missed":n}` (n items are gone from history; the rest follow) or
//! `"resumed":{"reset":true}` (the position's epoch is gone: live from now).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::json_string::push_json_string;
use super::{ErrorCode, ErrorObject};

/// The method of a resuming subscribe call.
pub(crate) const RESUME_METHOD: &str = "rpc.resume";

/// Where an item sits in its topic: the topic's epoch (which changes when
/// its history is lost, e.g. on a restart) and the item's offset, counting
/// from 1 within the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Position {
    /// The topic's epoch.
    pub epoch: std::sync::Arc<str>,
    /// The item's offset within the epoch.
    pub offset: u64,
}

/// How a resumed subscription picks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Every item after the position follows, exactly once.
    Exact,
    /// This many items after the position are gone from history; the rest follow.
    Gap(u64),
    /// The position's epoch is gone: items follow live from now.
    Reset,
}

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
    /// An item, with its position when it has one.
    Item(&'a RawValue, Option<WirePosition<'a>>),
    Lagged(u64),
    Resumed(Resume),
    Ended(ErrorObject),
}

/// A position as read, borrowing its epoch from the frame.
#[derive(Debug, Deserialize)]
pub(crate) struct WirePosition<'a> {
    #[serde(borrow)]
    pub(crate) epoch: std::borrow::Cow<'a, str>,
    pub(crate) offset: u64,
}

#[derive(Deserialize)]
struct WireResume {
    #[serde(default)]
    missed: u64,
    #[serde(default)]
    reset: bool,
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
        ended: bool,
        #[serde(default)]
        lagged: Option<u64>,
        #[serde(borrow, default)]
        position: Option<WirePosition<'a>>,
        #[serde(default)]
        resumed: Option<WireResume>,
    }
    // serde would read a struct from an array too; a notice is always an object.
    if !params.get().trim_start().starts_with('{') {
        return None;
    }
    let wire: Wire<'_> = serde_json::from_str(params.get()).ok()?;
    let event = if let Some(error) = wire.error {
        NoticeEvent::Ended(error)
    } else if wire.ended {
        NoticeEvent::Ended(ErrorObject::new(
            ErrorCode::SUBSCRIPTION_ENDED,
            "subscription ended",
        ))
    } else if let Some(lagged) = wire.lagged {
        NoticeEvent::Lagged(lagged)
    } else if let Some(resumed) = wire.resumed {
        NoticeEvent::Resumed(match (resumed.reset, resumed.missed) {
            (true, _) => Resume::Reset,
            (false, 0) => Resume::Exact,
            (false, missed) => Resume::Gap(missed),
        })
    } else {
        NoticeEvent::Item(wire.result?, wire.position)
    };
    Some(Notice {
        subscription: wire.subscription.get(),
        event,
    })
}

/// The item frames of one subscription. Everything before the item is the
/// same for each, so it is encoded once and copied per item.
#[derive(Debug)]
pub(crate) struct ItemFrames {
    /// `{"jsonrpc":"2.0","method":…,"params":{"subscription":…,"result":`
    prefix: Box<str>,
}

/// Scratch space kept by each thread for serializing items, up to this size.
const SCRATCH_KEPT: usize = 64 * 1024;

/// Runs `f` on this thread's empty scratch buffer (a fresh one if it is
/// already in use).
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            scratch.clear();
            let result = f(&mut scratch);
            if scratch.capacity() > SCRATCH_KEPT {
                *scratch = Vec::new();
            }
            result
        }
        Err(_) => f(&mut Vec::new()),
    })
}

impl ItemFrames {
    pub(crate) fn new(notification: &str, id: &RawValue) -> ItemFrames {
        let mut prefix = member(notification, id, "result", "");
        prefix.truncate(prefix.len() - 2);
        ItemFrames {
            prefix: prefix.into(),
        }
    }

    /// An item: `{"jsonrpc":"2.0","method":…,"params":{"subscription":…,"result":…}}`.
    pub(crate) fn item(&self, item: &RawValue) -> String {
        let mut frame = String::with_capacity(self.prefix.len() + item.get().len() + 2);
        frame.push_str(&self.prefix);
        frame.push_str(item.get());
        frame.push_str("}}");
        frame
    }

    /// An item serialized into its frame. The item is written into this
    /// thread's scratch buffer first, so the frame is allocated at its
    /// exact size (tungstenite then takes it without allocating again)
    /// and only the item's own bytes are checked as UTF-8.
    pub(crate) fn serialize<T: Serialize + ?Sized>(&self, item: &T) -> serde_json::Result<String> {
        with_scratch(|scratch| {
            serde_json::to_writer(&mut *scratch, item)?;
            let item = std::str::from_utf8(scratch).expect("serde_json writes UTF-8");
            let mut frame = String::with_capacity(self.prefix.len() + item.len() + 2);
            frame.push_str(&self.prefix);
            frame.push_str(item);
            frame.push_str("}}");
            Ok(frame)
        })
    }

    /// An item with its position: the plain item plus a `"position"` member.
    pub(crate) fn item_at(&self, item: &RawValue, position: &Position) -> String {
        const POSITION: &str = r#","position":{"epoch":"#;
        const OFFSET: &str = r#","offset":"#;
        // Sized once: each delivery of a fan-out builds one of these, and
        // growing it would copy it again.
        let mut frame = String::with_capacity(
            self.prefix.len()
                + item.get().len()
                + POSITION.len()
                + position.epoch.len()
                + 2
                + OFFSET.len()
                + 20
                + 3,
        );
        frame.push_str(&self.prefix);
        frame.push_str(item.get());
        frame.push_str(POSITION);
        push_json_string(&mut frame, &position.epoch);
        frame.push_str(OFFSET);
        frame.push_str(itoa::Buffer::new().format(position.offset));
        frame.push_str("}}}");
        frame
    }
}

/// How a resumed subscription picks up: its first notice.
pub(crate) fn resumed(notification: &str, id: &RawValue, resume: Resume) -> String {
    let value = match resume {
        Resume::Exact => r#"{"missed":0}"#.to_owned(),
        Resume::Gap(missed) => format!(r#"{{"missed":{missed}}}"#),
        Resume::Reset => r#"{"reset":true}"#.to_owned(),
    };
    member(notification, id, "resumed", &value)
}

/// A lag notice: `n` items were dropped before the next one.
pub(crate) fn lagged(notification: &str, id: &RawValue, missed: u64) -> String {
    member(notification, id, "lagged", &missed.to_string())
}

/// An end notice: the serving end ended the subscription with `error`;
/// a normal end (`SUBSCRIPTION_ENDED`) is `"ended": true`, anything else
/// an `"error"`.
pub(crate) fn ended(notification: &str, id: &RawValue, error: &ErrorObject) -> String {
    if error.code == ErrorCode::SUBSCRIPTION_ENDED {
        return member(notification, id, "ended", "true");
    }
    let error = serde_json::to_string(error).expect("an error object serializes");
    member(notification, id, "error", &error)
}

/// The params of an `rpc.resume` call: subscribe with `method` and
/// `params`, carrying on after (`epoch`, `offset`).
pub(crate) fn resume_params(
    method: &str,
    params: Option<&RawValue>,
    epoch: &str,
    offset: u64,
) -> Box<RawValue> {
    #[derive(Serialize)]
    struct ResumeParams<'a> {
        method: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        params: Option<&'a RawValue>,
        epoch: &'a str,
        offset: u64,
    }
    let params = ResumeParams {
        method,
        params,
        epoch,
        offset,
    };
    serde_json::value::to_raw_value(&params).expect("resume params serialize")
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
        let frame = ItemFrames::new("tick", &raw(r#""a1""#)).item(&raw(r#"{"n":1}"#));
        assert_eq!(
            frame,
            r#"{"jsonrpc":"2.0","method":"tick","params":{"subscription":"a1","result":{"n":1}}}"#
        );
        let params = params_of(&frame);
        let notice = parse_notice(&params).unwrap();
        assert_eq!(notice.subscription, r#""a1""#);
        assert!(
            matches!(notice.event, NoticeEvent::Item(item, None) if item.get() == r#"{"n":1}"#)
        );
    }

    #[test]
    fn lag_and_end_notices_round_trip() {
        let params = params_of(&lagged("tick", &raw("7"), 12));
        assert!(matches!(
            parse_notice(&params).unwrap().event,
            NoticeEvent::Lagged(12)
        ));
        let error = ErrorObject::new(ErrorCode::SLOW_SUBSCRIBER, "too slow");
        let params = params_of(&ended("tick", &raw("7"), &error));
        match parse_notice(&params).unwrap().event {
            NoticeEvent::Ended(got) => assert_eq!(got, error),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_normal_end_is_its_own_notice_and_the_old_form_still_reads() {
        let normal = ErrorObject::new(ErrorCode::SUBSCRIPTION_ENDED, "subscription ended");
        let frame = ended("tick", &raw("7"), &normal);
        assert_eq!(
            frame,
            r#"{"jsonrpc":"2.0","method":"tick","params":{"subscription":7,"ended":true}}"#
        );
        let old = r#"{"subscription":7,"error":{"code":-32000,"message":"subscription ended"}}"#;
        for params in [params_of(&frame), raw(old)] {
            match parse_notice(&params).unwrap().event {
                NoticeEvent::Ended(got) => assert_eq!(got.code, ErrorCode::SUBSCRIPTION_ENDED),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn ordinary_notifications_are_not_notices() {
        assert!(parse_notice(&raw("[1,2]")).is_none());
        assert!(parse_notice(&raw(r#"{"subscription":"a"}"#)).is_none());
        assert!(parse_notice(&raw(r#"{"text":"hi"}"#)).is_none());
    }

    #[test]
    fn positions_and_resume_notices_round_trip() {
        let position = Position {
            epoch: std::sync::Arc::from("e1"),
            offset: 42,
        };
        let frame = ItemFrames::new("tick", &raw(r#""a1""#)).item_at(&raw("7"), &position);
        assert_eq!(
            frame,
            r#"{"jsonrpc":"2.0","method":"tick","params":{"subscription":"a1","result":7,"position":{"epoch":"e1","offset":42}}}"#
        );
        match parse_notice(&params_of(&frame)).unwrap().event {
            NoticeEvent::Item(item, Some(at)) => {
                assert_eq!(item.get(), "7");
                assert_eq!((at.epoch.as_ref(), at.offset), ("e1", 42));
            }
            other => panic!("{other:?}"),
        }
        for resume in [Resume::Exact, Resume::Gap(5), Resume::Reset] {
            let params = params_of(&resumed("tick", &raw("1"), resume));
            match parse_notice(&params).unwrap().event {
                NoticeEvent::Resumed(got) => assert_eq!(got, resume),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn unsubscribe_params_wrap_the_id() {
        assert_eq!(unsubscribe_params(&raw(r#""a1""#)).get(), r#"["a1"]"#);
    }
}
