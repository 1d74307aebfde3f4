//! The bare client's frames and the checks on every answer. Every call has
//! its own id and its own operands, so an answer can only match its call;
//! anything else fails the run.

use serde::Deserialize;
use serde_json::value::RawValue;

/// `add(id, 1)` with id `id`; every server answers `id + 1` (the echo
/// sends the frame back).
pub(crate) fn add(id: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"add","params":[{id},1]}}"#)
}

/// A batch of `size` `add` calls with ids `first..first + size`.
pub(crate) fn add_batch(first: u64, size: u64) -> String {
    let calls: Vec<String> = (first..first + size).map(add).collect();
    format!("[{}]", calls.join(","))
}

/// A call of `method` with `params` (JSON text) and id `id`.
pub(crate) fn call(id: u64, method: &str, params: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{params}}}"#)
}

#[derive(Deserialize)]
struct Answer<'a> {
    id: Option<u64>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
    /// Present when the echo sent the request back.
    #[serde(default)]
    params: Option<(u64, u64)>,
}

impl Answer<'_> {
    fn check_add(&self, echo: bool) -> Result<u64, String> {
        let id = self.id.ok_or("an answer without an id")?;
        if let Some(error) = self.error {
            return Err(format!("call {id} failed: {error}"));
        }
        let right = if echo {
            self.params == Some((id, 1))
        } else {
            self.result.map(RawValue::get) == Some((id + 1).to_string().as_str())
        };
        if right {
            Ok(id)
        } else {
            Err(format!("call {id} got a wrong answer"))
        }
    }
}

/// Checks the answer to one `add` and returns its id.
pub(crate) fn check_add(frame: &str, echo: bool) -> Result<u64, String> {
    serde_json::from_str::<Answer<'_>>(frame)
        .map_err(|err| format!("an answer that is not JSON-RPC ({err}): {frame}"))?
        .check_add(echo)
}

/// Checks the answer to a batch of `size` `add` calls: every call answered
/// once, rightly, in any order, with ids `first..first + size`. Returns
/// `first`.
pub(crate) fn check_add_batch(frame: &str, size: u64, echo: bool) -> Result<u64, String> {
    let answers: Vec<Answer<'_>> = serde_json::from_str(frame)
        .map_err(|err| format!("a batch answer that is not an array of answers ({err})"))?;
    if answers.len() as u64 != size {
        return Err(format!("{} answers to a batch of {size}", answers.len()));
    }
    let mut ids = answers
        .iter()
        .map(|answer| answer.check_add(echo))
        .collect::<Result<Vec<u64>, String>>()?;
    ids.sort_unstable();
    let first = ids.first().copied().unwrap_or(0);
    if ids.iter().zip(first..).any(|(id, want)| *id != want) {
        return Err(format!("a batch answered with ids {ids:?}"));
    }
    Ok(first)
}

/// What a frame on a subscribing connection is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The answer to call `id` (`ok` when it has a result).
    Answer { id: u64, ok: bool },
    /// An item whose value is a number.
    Item(u64),
    /// A notice that `n` items were dropped.
    Lagged(u64),
    /// Any other notification (an end notice, say), as it came.
    Other(String),
}

#[derive(Deserialize)]
struct Frame<'a> {
    id: Option<u64>,
    #[serde(borrow, default)]
    result: Option<&'a RawValue>,
    #[serde(default)]
    params: Option<Notice>,
}

#[derive(Deserialize)]
struct Notice {
    #[serde(default)]
    result: Option<u64>,
    #[serde(default)]
    lagged: Option<u64>,
}

/// Reads one frame of a subscribing connection.
pub(crate) fn pushed(frame: &str) -> Result<Pushed, String> {
    let parsed: Frame<'_> = serde_json::from_str(frame)
        .map_err(|err| format!("a frame that is not JSON-RPC ({err}): {frame}"))?;
    if let Some(id) = parsed.id {
        return Ok(Pushed::Answer {
            id,
            ok: parsed.result.is_some(),
        });
    }
    match parsed.params {
        Some(Notice {
            result: Some(n), ..
        }) => Ok(Pushed::Item(n)),
        Some(Notice {
            lagged: Some(n), ..
        }) => Ok(Pushed::Lagged(n)),
        _ => Ok(Pushed::Other(frame.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_must_match_its_call() {
        assert_eq!(
            check_add(r#"{"jsonrpc":"2.0","id":7,"result":8}"#, false),
            Ok(7)
        );
        assert!(check_add(r#"{"jsonrpc":"2.0","id":7,"result":9}"#, false).is_err());
        assert!(check_add(
            r#"{"jsonrpc":"2.0","id":7,"error":{"code":-1,"message":"x"}}"#,
            false
        )
        .is_err());
        assert_eq!(check_add(&add(7), true), Ok(7));
        assert!(check_add(&add(7), false).is_err());
    }

    #[test]
    fn a_batch_answer_must_answer_every_call_once() {
        let right = r#"[{"id":2,"result":3},{"id":1,"result":2}]"#;
        assert_eq!(check_add_batch(right, 2, false), Ok(1));
        let twice = r#"[{"id":1,"result":2},{"id":1,"result":2}]"#;
        assert!(check_add_batch(twice, 2, false).is_err());
        let short = r#"[{"id":1,"result":2}]"#;
        assert!(check_add_batch(short, 2, false).is_err());
        assert_eq!(check_add_batch(&add_batch(5, 3), 3, true), Ok(5));
    }

    #[test]
    fn pushed_frames_are_told_apart() {
        let item = r#"{"jsonrpc":"2.0","method":"item","params":{"subscription":"a","result":4}}"#;
        assert_eq!(pushed(item), Ok(Pushed::Item(4)));
        let lag = r#"{"jsonrpc":"2.0","method":"item","params":{"subscription":"a","lagged":9}}"#;
        assert_eq!(pushed(lag), Ok(Pushed::Lagged(9)));
        assert_eq!(
            pushed(r#"{"jsonrpc":"2.0","id":3,"result":"a"}"#),
            Ok(Pushed::Answer { id: 3, ok: true })
        );
    }
}
