//! The Lua scripts of Redis presence. Each runs atomically and tells what
//! it changes on the topic itself, in the same step: a claim and its join,
//! a sweep and its leaves. So a name is claimed by one holder at a time on
//! every node, a join or leave is told exactly when it happens, and an
//! expired member is removed, and its leave told, exactly once.
//!
//! Per topic `t` (the braces keep a topic's keys on one cluster slot):
//! - `{prefix}:{t}:members`, a hash: name → `holder \n token \n leave \n
//!   info`, where the token names the join that holds it and `leave` is
//!   the item to tell when it goes;
//! - `{prefix}:{t}:expiry`, a sorted set: name → when it expires (Redis's
//!   clock, ms). Both keys expire with their last member.
//!
//! KEYS: members, expiry, the topic's meta and history (see
//! `scripts::PUBLISH_FN`), and for `join` and `cancel` a mark that cancels
//! a join by its token. ARGV 1 to 6 are the topic's publishing settings;
//! each script's own start at ARGV[7].

use super::scripts::{NOW, PUBLISH_FN};

/// Naming the keys, the parts of a member's value, and the sweep.
const PRELUDE: &str = r"
local MEMBERS, EXPIRY, META, HISTORY, MARK = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
";

const SPLIT: &str = r"
local function split(value)
  local a = string.find(value, '\n', 1, true)
  local b = string.find(value, '\n', a + 1, true)
  local c = string.find(value, '\n', b + 1, true)
  return string.sub(value, 1, a - 1), string.sub(value, a + 1, b - 1),
    string.sub(value, b + 1, c - 1), string.sub(value, c + 1)
end
";

/// Removes the expired members and tells their leaves; answers how many.
const SWEEP: &str = r"
local function sweep()
  local gone = 0
  for _, name in ipairs(redis.call('ZRANGEBYSCORE', EXPIRY, '-inf', now)) do
    local value = redis.call('HGET', MEMBERS, name)
    redis.call('HDEL', MEMBERS, name)
    redis.call('ZREM', EXPIRY, name)
    if value then
      local _, _, leave = split(value)
      publish(leave)
      gone = gone + 1
    end
  end
  return gone
end
";

fn script(body: &str) -> String {
    format!("{PRELUDE}{NOW}{PUBLISH_FN}{SPLIT}{SWEEP}{body}")
}

/// Claims a name. ARGV[7..]: name, holder, token, info, ttl ms, the join
/// item, the leave item. Answers `new` (claimed, and the join told),
/// `again` (the same holder had it: it now holds it under this token),
/// `taken`, or `cancelled` (the join was cancelled before it ran).
pub(super) fn join() -> String {
    script(
        r"
if redis.call('EXISTS', MARK) == 1 then
  return 'cancelled'
end
local name, holder, token, info, ttl = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local value = redis.call('HGET', MEMBERS, name)
local answer = 'new'
if value then
  local had, _, leave = split(value)
  local expiry = tonumber(redis.call('ZSCORE', EXPIRY, name) or '0')
  if had == holder then
    answer = 'again'
  elseif expiry > now then
    return 'taken'
  else
    -- An expired member under the name leaves first.
    publish(leave)
  end
end
redis.call('HSET', MEMBERS, name, holder .. '\n' .. token .. '\n' .. ARGV[13] .. '\n' .. info)
redis.call('ZADD', EXPIRY, now + tonumber(ttl), name)
redis.call('PEXPIRE', MEMBERS, ttl)
redis.call('PEXPIRE', EXPIRY, ttl)
if answer == 'new' then
  publish(ARGV[12])
end
return answer
",
    )
}

/// Undoes a join that failed, whichever of the two Redis runs first: marks
/// its token cancelled (for a join still on its way), and if that join ran,
/// the member leaves (its join was told, so its leave is). ARGV[7..]:
/// name, token, how long the mark lasts (ms).
pub(super) fn cancel() -> String {
    script(
        r"
redis.call('SET', MARK, '1', 'PX', ARGV[9])
local value = redis.call('HGET', MEMBERS, ARGV[7])
if value then
  local _, token = split(value)
  if token == ARGV[8] then
    redis.call('ZADD', EXPIRY, 0, ARGV[7])
    sweep()
  end
end
return 1
",
    )
}

/// Leaves, if the join `token` still holds the name; answers 1 if it did.
/// ARGV[7..]: name, token.
pub(super) fn leave() -> String {
    script(
        r"
local value = redis.call('HGET', MEMBERS, ARGV[7])
local had = 0
if value then
  local _, token = split(value)
  if token == ARGV[8] then
    redis.call('ZADD', EXPIRY, 0, ARGV[7])
    had = 1
  end
end
sweep()
return had
",
    )
}

/// Keeps a node's members alive, then sweeps. ARGV[7..]: ttl ms, then name
/// and token pairs. Answers the names their token no longer holds.
pub(super) fn refresh() -> String {
    script(
        r"
local ttl = ARGV[7]
local lost = {}
for i = 8, #ARGV, 2 do
  local value = redis.call('HGET', MEMBERS, ARGV[i])
  local held = false
  if value then
    local _, token = split(value)
    held = token == ARGV[i + 1]
  end
  if held then
    redis.call('ZADD', EXPIRY, 'XX', now + tonumber(ttl), ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
if redis.call('EXISTS', MEMBERS) == 1 then
  redis.call('PEXPIRE', MEMBERS, ttl)
  redis.call('PEXPIRE', EXPIRY, ttl)
end
sweep()
return lost
",
    )
}

/// Sweeps, then answers the members: name and info pairs.
pub(super) fn members() -> String {
    script(
        r"
sweep()
local members = {}
local all = redis.call('HGETALL', MEMBERS)
for i = 1, #all, 2 do
  local _, _, _, info = split(all[i + 1])
  table.insert(members, all[i])
  table.insert(members, info)
end
return members
",
    )
}
