//! The Lua scripts that make a topic's positions in Redis, and what they
//! answer. Each runs atomically, so offsets never repeat or skip and a
//! reader sees history and the topic's head from the same instant.
//!
//! Per topic `t` (the braces keep a topic's keys on one cluster slot):
//! - `{prefix}:{t}:meta`, a hash: `e` the epoch, `s` the last offset given;
//! - `{prefix}:{t}:history`, a stream whose entry ids are `<offset>-0`,
//!   with fields `d` (the item's JSON) and `t` (Redis's clock, ms);
//! - `{prefix}:{t}:live`, the pub/sub channel; each message is
//!   `<offset>:<epoch>:<item JSON>`.

use std::sync::Arc;

use serde_json::value::RawValue;

/// Redis's clock in ms, as `now`.
pub(super) const NOW: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
";

/// `publish(item)`: gives the item the topic's next offset (starting a new
/// epoch when the topic has none), keeps it in bounded history, publishes
/// it, and answers the offset and the epoch. A script that uses it first
/// names the topic's meta and history keys `META` and `HISTORY`, and takes
/// ARGV 1 to 6 as `Shared::publishing` gives them: history length, history
/// ms, meta ms, channel, a fresh epoch in case the topic has none, and the
/// publish command (`PUBLISH`, or `SPUBLISH` on a cluster).
pub(super) const PUBLISH_FN: &str = r"
local function publish(item)
  local epoch = redis.call('HGET', META, 'e')
  if not epoch then
    -- A new epoch: history left from a lost one must not pass for it.
    epoch = ARGV[5]
    redis.call('HSET', META, 'e', epoch)
    redis.call('DEL', HISTORY)
  end
  local offset = redis.call('HINCRBY', META, 's', 1)
  redis.call('PEXPIRE', META, ARGV[3])
  if tonumber(ARGV[1]) > 0 then
    redis.call('XADD', HISTORY, 'MAXLEN', ARGV[1], offset .. '-0', 'd', item, 't', now)
    redis.call('PEXPIRE', HISTORY, ARGV[2])
  end
  redis.call(ARGV[6], ARGV[4], offset .. ':' .. epoch .. ':' .. item)
  return offset, epoch
end
";

/// Publishes one item. KEYS: meta, history. ARGV 1 to 6: see
/// [`PUBLISH_FN`]; ARGV[7]: the item.
pub(super) fn publish() -> String {
    format!(
        "local META, HISTORY = KEYS[1], KEYS[2]{NOW}{PUBLISH_FN}{}",
        r"
local offset, epoch = publish(ARGV[7])
return {offset, epoch}
"
    )
}

/// The topic's epoch and last offset, the time, and the history after an
/// offset. KEYS: meta, history. ARGV: the offset to read after.
pub(super) const READ: &str = r"
local epoch = redis.call('HGET', KEYS[1], 'e')
local head = redis.call('HGET', KEYS[1], 's')
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if not epoch then
  return {'', 0, ms, {}}
end
local entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[1] .. '-0', '+')
return {epoch, tonumber(head), ms, entries}
";

/// What [`READ`] answers, decoded.
#[derive(Debug)]
pub(super) struct Snapshot {
    /// The topic's epoch; `None` when the topic has none (never published,
    /// expired, or Redis lost it).
    pub(super) epoch: Option<Arc<str>>,
    /// The last offset given in that epoch.
    pub(super) head: u64,
    /// Kept items after the offset asked for, oldest first, with their
    /// offsets, none older than the history age.
    pub(super) items: Vec<(u64, Arc<RawValue>)>,
}

type Entry = (String, Vec<(String, Vec<u8>)>);
type Reply = (String, u64, u64, Vec<Entry>);

impl Snapshot {
    /// Decodes a [`READ`] reply, leaving out items older than `max_age_ms`.
    pub(super) fn decode(reply: Reply, max_age_ms: u64) -> Result<Snapshot, String> {
        let (epoch, head, now_ms, entries) = reply;
        let mut items = Vec::with_capacity(entries.len());
        for (id, fields) in entries {
            let offset = id
                .split('-')
                .next()
                .and_then(|offset| offset.parse::<u64>().ok())
                .ok_or_else(|| format!("a history entry with id {id:?}"))?;
            let mut item = None;
            let mut stamped = 0u64;
            for (name, value) in fields {
                match name.as_str() {
                    "d" => item = Some(value),
                    "t" => {
                        stamped = std::str::from_utf8(&value)
                            .ok()
                            .and_then(|t| t.parse().ok())
                            .unwrap_or(0);
                    }
                    _ => {}
                }
            }
            if now_ms.saturating_sub(stamped) > max_age_ms {
                continue;
            }
            let item = item.ok_or_else(|| format!("history entry {id} has no item"))?;
            let item = String::from_utf8(item)
                .ok()
                .and_then(|text| RawValue::from_string(text).ok())
                .ok_or_else(|| format!("history entry {id} is not JSON"))?;
            items.push((offset, Arc::from(item)));
        }
        Ok(Snapshot {
            epoch: (!epoch.is_empty()).then(|| Arc::from(epoch)),
            head,
            items,
        })
    }
}

/// Reads a live message: `<offset>:<epoch>:<item JSON>`.
pub(super) fn parse_live(payload: &[u8]) -> Option<(u64, &str, Box<RawValue>)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (offset, rest) = text.split_once(':')?;
    let (epoch, item) = rest.split_once(':')?;
    let item = RawValue::from_string(item.to_owned()).ok()?;
    Some((offset.parse().ok()?, epoch, item))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_message_splits_at_its_first_two_colons() {
        let (offset, epoch, item) = parse_live(br#"12:e-1:{"a":"b:c"}"#).unwrap();
        assert_eq!((offset, epoch, item.get()), (12, "e-1", r#"{"a":"b:c"}"#));
        assert!(parse_live(b"x:e:1").is_none());
        assert!(parse_live(b"1:e:not json").is_none());
    }

    #[test]
    fn old_entries_are_left_out_of_a_snapshot() {
        let entry = |offset: u64, stamped: u64| {
            (
                format!("{offset}-0"),
                vec![
                    ("d".to_owned(), offset.to_string().into_bytes()),
                    ("t".to_owned(), stamped.to_string().into_bytes()),
                ],
            )
        };
        let reply = (
            "e".to_owned(),
            3,
            10_000,
            vec![entry(1, 1_000), entry(2, 9_500), entry(3, 9_900)],
        );
        let snapshot = Snapshot::decode(reply, 1_000).unwrap();
        let offsets: Vec<u64> = snapshot.items.iter().map(|(offset, _)| *offset).collect();
        assert_eq!(offsets, [2, 3]);
        assert_eq!(snapshot.head, 3);
        assert_eq!(snapshot.epoch.as_deref(), Some("e"));
    }
}
