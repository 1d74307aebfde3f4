//! The Lua scripts of Redis presence. Each runs atomically, so a name is
//! claimed by one holder at a time on every node, and an expired member is
//! removed, and its leave told, by exactly one node.
//!
//! Per topic `t` (the braces keep a topic's keys on one cluster slot):
//! - `{prefix}:{t}:members`, a hash: name → `holder \n token \n info`, the
//!   token naming the join that made it;
//! - `{prefix}:{t}:expiry`, a sorted set: name → when it expires (Redis's
//!   clock, ms). Both keys expire with their last member.

/// Redis's clock in ms, for every script.
const NOW: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
";

/// Parts of a member's value.
const SPLIT: &str = r"
local function split(value)
  local first = string.find(value, '\n', 1, true)
  local second = string.find(value, '\n', first + 1, true)
  return string.sub(value, 1, first - 1), string.sub(value, first + 1, second - 1),
    string.sub(value, second + 1)
end
";

/// Removes the expired members and answers them, `name, info` pairs.
const SWEEP: &str = r"
local function sweep()
  local gone = {}
  for _, name in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
    local value = redis.call('HGET', KEYS[1], name)
    redis.call('HDEL', KEYS[1], name)
    redis.call('ZREM', KEYS[2], name)
    if value then
      local _, _, info = split(value)
      table.insert(gone, name)
      table.insert(gone, info)
    end
  end
  return gone
end
";

/// Claims a name. ARGV: name, holder, token, info, ttl ms. Answers
/// `{'taken'}`, `{'again'}`, or `{'new', gone info}` where gone info is the
/// info of an expired member the name had (or '' if none). A join whose
/// token was cancelled first (`CANCEL` ran before it) answers `{'cancelled'}`.
pub(super) fn join() -> String {
    format!(
        "{NOW}{SPLIT}{}",
        r"
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {'cancelled'}
end
local ttl = tonumber(ARGV[5])
local value = redis.call('HGET', KEYS[1], ARGV[1])
local gone = ''
if value then
  local holder, token = split(value)
  if holder == ARGV[2] then
    redis.call('HSET', KEYS[1], ARGV[1], holder .. '\n' .. token .. '\n' .. ARGV[4])
    redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('PEXPIRE', KEYS[2], ttl)
    return {'again'}
  end
  local expiry = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '0')
  if expiry > now then
    return {'taken'}
  end
  local _, _, info = split(value)
  gone = info
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '\n' .. ARGV[3] .. '\n' .. ARGV[4])
redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return {'new', gone}
"
    )
}

/// Undoes a join that failed, whichever of the two Redis runs first: marks
/// the token cancelled (KEYS[3], for a join still on its way) and removes
/// the member that join made, without a leave being told. ARGV: name,
/// token, how long the mark lasts (ms).
pub(super) fn cancel() -> String {
    format!(
        "{SPLIT}{}",
        r"
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
local value = redis.call('HGET', KEYS[1], ARGV[1])
if value then
  local _, token = split(value)
  if token == ARGV[2] then
    redis.call('HDEL', KEYS[1], ARGV[1])
    redis.call('ZREM', KEYS[2], ARGV[1])
  end
end
return 1
"
    )
}

/// Leaves: the member expires now if `holder` has it, and the expired are
/// swept and answered, so the leave is told by whoever sweeps first (this
/// call, or, if its answer is lost, the next sweep on any node). ARGV:
/// name, holder.
pub(super) fn leave() -> String {
    format!(
        "{NOW}{SPLIT}{SWEEP}{}",
        r"
local value = redis.call('HGET', KEYS[1], ARGV[1])
if value then
  local holder = split(value)
  if holder == ARGV[2] then
    redis.call('ZADD', KEYS[2], 0, ARGV[1])
  end
end
return sweep()
"
    )
}

/// Keeps a node's members alive. ARGV: ttl ms, then name and holder pairs.
/// Answers the names no longer held by their holder (swept meanwhile).
pub(super) fn refresh() -> String {
    format!(
        "{NOW}{SPLIT}{}",
        r"
local ttl = tonumber(ARGV[1])
local lost = {}
for i = 2, #ARGV, 2 do
  local value = redis.call('HGET', KEYS[1], ARGV[i])
  local held = false
  if value then
    local holder = split(value)
    held = holder == ARGV[i + 1]
  end
  if held then
    redis.call('ZADD', KEYS[2], 'XX', now + ttl, ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return lost
"
    )
}

/// Sweeps, then answers `{gone pairs, member pairs}`: the expired removed
/// now (name, info), and the members left (name, info).
pub(super) fn members() -> String {
    format!(
        "{NOW}{SPLIT}{SWEEP}{}",
        r"
local gone = sweep()
local members = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local _, _, info = split(all[i + 1])
  table.insert(members, all[i])
  table.insert(members, info)
end
return {gone, members}
"
    )
}
