-- Shared by every ordercmd script: Redis time, releasing an order lane, the search indexes.
-- INDEX_PREFIX, UNINDEX_QUEUE, BACKLOG_PREFIX, BACKLOGS, PAUSED, HELD_PREFIX and HELD_ACCOUNTS
-- come from store/keys.py (store/scripts.py sets them above).
-- Redis time in ms, read once per script run: a script runs at one instant anyway.
local script_now_ms
local function now_ms()
  if not script_now_ms then
    local t = redis.call('TIME')
    script_now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return script_now_ms
end

-- How long a command's message may go unclaimed before it is sent again. Bulk commands (ids
-- starting 'b-', see store/ids.py) wait behind long backlogs, so they get a longer guard.
local function guard_for(id, guard_ms, bulk_guard_ms)
  if string.sub(id, 1, 2) == 'b-' then return bulk_guard_ms end
  return guard_ms
end

-- Whether `id` is a bulk command's (ids starting 'b-', see store/ids.py).
local function is_bulk_id(id)
  return string.sub(id, 1, 2) == 'b-'
end

-- Put a bulk command in its account's backlog, by admission sequence: it holds no slot, no
-- worker and no message until the scheduler releases it (release.lua). `listed` (optional):
-- the accounts this script run already added to BACKLOGS, so a chunk adds each once.
local function to_backlog(id, account, seq, listed)
  redis.call('ZADD', BACKLOG_PREFIX .. account, seq, id)
  if listed and listed[account] then return end
  redis.call('SADD', BACKLOGS, account)
  if listed then listed[account] = true end
end

local function index_key(field, value)
  return INDEX_PREFIX .. field .. ':' .. value
end

-- The search indexes of a command in `state` whose command `c` has these provider/account/kind.
local function indexes_of(state, c)
  return {index_key('state', state), index_key('provider', c['provider']),
    index_key('account', c['account']), index_key('kind', c['kind'])}
end

-- Index a new command by state, provider, account and kind (`c`), scored by its admission time;
-- `zadd(key, score, member)` writes each entry (admit.lua gathers them into one ZADD per key).
local function index_admitted(id, c, state, now, zadd)
  for _, key in ipairs(indexes_of(state, c)) do
    zadd(key, now, id)
  end
end

-- What a command in `state` waits for ('waiting_for' field `field`): nothing unless it is
-- waiting; a waiting record without the field (written before it existed) waits for its lane.
local function waits_for(state, field)
  if state ~= 'waiting' then return nil end
  return field or 'lane'
end

-- Move command `id` (admitted at `score`) from the state index of `from` to that of `to`, and
-- between the indexes of what it waits for (`from_for`: its 'waiting_for' field; `to_for`:
-- 'lane' unless given). Only what changes is written: a state kept costs nothing.
local function move_index(id, score, from, from_for, to, to_for)
  if from ~= to then
    redis.call('ZREM', index_key('state', from), id)
    redis.call('ZADD', index_key('state', to), score, id)
  end
  local was, now_for = waits_for(from, from_for), waits_for(to, to_for)
  if was ~= now_for then
    if was then redis.call('ZREM', index_key('waiting_for', was), id) end
    if now_for then redis.call('ZADD', index_key('waiting_for', now_for), score, id) end
  end
end

-- Have trim drop command `id`'s index entries (it will be in `state`, its command `c`) when
-- its record expires, `expire_s` from now.
local function queue_unindex(id, state, c, expire_s)
  local entry = table.concat({id, state, c['provider'], c['account'], c['kind']}, ' ')
  redis.call('ZADD', UNINDEX_QUEUE, now_ms() + tonumber(expire_s) * 1000, entry)
end

-- Move a command to the index of `state` (waiting: for `waiting_for`, 'lane' unless given);
-- call it before the record changes, and write 'waiting_for' with a waiting state. With
-- `expire_s` the record expires then, and trim drops its index entries at that time (trim.lua).
local function index_state(cmd_key, id, state, expire_s, waiting_for)
  local f = redis.call('HMGET', cmd_key, 'state', 'created_ms', 'envelope', 'waiting_for')
  move_index(id, f[2], f[1], f[4], state, waiting_for)
  if expire_s then queue_unindex(id, state, cjson.decode(f[3])['command'], expire_s) end
end

-- Drop a command from every index it is in (its record is about to be deleted).
local function unindex(cmd_key, id)
  local f = redis.call('HMGET', cmd_key, 'state', 'envelope', 'waiting_for')
  if not f[2] then return end
  for _, key in ipairs(indexes_of(f[1], cjson.decode(f[2])['command'])) do
    redis.call('ZREM', key, id)
  end
  local waiting = waits_for(f[1], f[3])
  if waiting then redis.call('ZREM', index_key('waiting_for', waiting), id) end
end

-- Drop a command from its indexes by an unindex-queue entry ('id state provider account kind').
local function unindex_entry(entry)
  local id, state, provider, account, kind = string.match(entry, '^(%S+) (%S+) (%S+) (%S+) (%S+)$')
  if not id then return end
  local c = {provider = provider, account = account, kind = kind}
  for _, key in ipairs(indexes_of(state, c)) do redis.call('ZREM', key, id) end
end

-- Drop `id` from its lane; if the next command was waiting behind it, queue it for dispatch.
local function release_lane(lane_key, id, cmd_prefix, dispatch_key, now, guard_ms, bulk_guard_ms)
  redis.call('LREM', lane_key, 1, id)
  local nxt = redis.call('LINDEX', lane_key, 0)
  if nxt then
    local key = cmd_prefix .. nxt
    local f = redis.call('HMGET', key, 'state', 'waiting_for', 'created_ms')
    if waits_for(f[1], f[2]) == 'lane' then
      move_index(nxt, f[3], f[1], f[2], 'queued')
      redis.call('HSET', key, 'state', 'queued', 'updated_ms', now)
      redis.call('ZADD', dispatch_key, now + guard_for(nxt, guard_ms, bulk_guard_ms or guard_ms), nxt)
      return nxt
    end
  end
  return ''
end

-- The rate limit's arithmetic, GCRA on the theoretical arrival time kept at `key` (ms), for
-- `burst` calls `interval` ms apart: the arrival time (never past) and how long until a call
-- may go (<= 0: now, with -wait ms of burst left). Flow gates (claim.lua) and webhook
-- endpoints (hook_gate.lua) differ only in what they take.
local function gcra_peek(key, now, interval, burst)
  local tat = math.max(tonumber(redis.call('GET', key) or now), now)
  return tat, tat - now - (burst - 1) * interval
end

-- Take `n` slots from arrival time `tat` (gcra_peek's); the key outlives the last by a second.
local function gcra_take(key, now, tat, n, interval)
  local after = tat + n * interval
  redis.call('SET', key, after, 'PX', after - now + 1000)
end

local function is_terminal(state)
  return state == 'succeeded' or state == 'already_done' or state == 'dead' or state == 'discarded'
end

-- Count `field` in the time-bucket hash `key`. The hash gets its TTL when a count there starts
-- (a new hash starts with one): not on every count.
local function count_in(key, field, ttl_s)
  if redis.call('HINCRBY', key, field, 1) == 1 then redis.call('EXPIRE', key, ttl_s) end
end

-- Count one event in the current minute's chart counters (store/series.py, web/series.py):
-- the one command a state change spends on the charts. `field` is 'family|label|...'. Outcomes
-- (finish, retry) are counted by the worker's process instead (store/tally.py).
local function count_minute(field)
  count_in(MINUTE_PREFIX .. math.floor(now_ms() / 60000), field, MINUTE_TTL_S)
end

-- Append one event to the outcome stream: command `id`, its decoded envelope `e`, now in `state`
-- with `message` and `attempts` recorded, after its record changed in this same script (so the
-- event is never lost nor doubled relative to the state). One XADD, trimmed to about `maxlen`
-- entries; the body carries no credential (the envelope names the account, never its
-- secrets). `reason` is the dead reason (for a replay: the one it had).
local function add_outcome(stream, maxlen, id, event, reason, e, state, message, attempts)
  local c = e['command']
  local producer = e['producer']
  if type(producer) ~= 'string' then producer = '' end
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'event', event, 'id', id,
    'producer', producer,
    'key', e['idempotency_key'], 'provider', c['provider'], 'account', c['account'],
    'order_id', c['order_id'], 'kind', c['kind'], 'state', state, 'reason', reason or '',
    'attempts', attempts, 'message', message or '', 'at_ms', now_ms())
end

-- `add_outcome` for the command in `cmd_key`, reading what the event says from its record.
local function emit_outcome(stream, maxlen, cmd_key, id, event, reason)
  local f = redis.call('HMGET', cmd_key, 'envelope', 'state', 'last_message')
  add_outcome(stream, maxlen, id, event, reason, cjson.decode(f[1]), f[2], f[3],
    redis.call('LLEN', cmd_key .. ':attempts'))
end

-- Take dead letter `id` out of the dead-letter sets (KEYS[2..4]) and put it at the tail of its
-- order lane (KEYS[5]): queued with its message due after `guard_ms` in the dispatch set
-- (KEYS[6]) when it heads the lane, else waiting (for the lane). Returns the state; replay and
-- edit-and-replay then write their own fields (with 'waiting_for' = 'lane').
local function requeue_dead(id, guard_ms, now)
  for i = 2, 4 do redis.call('ZREM', KEYS[i], id) end
  redis.call('RPUSH', KEYS[5], id)
  local state = 'waiting'
  if redis.call('LINDEX', KEYS[5], 0) == id then
    state = 'queued'
    redis.call('ZADD', KEYS[6], now + tonumber(guard_ms), id)
  end
  index_state(KEYS[1], id, state)
  return state
end

-- A replayed command's record forgets its death: one more replay, no reason, no due time, no TTL.
local function revive(cmd_key)
  redis.call('HINCRBY', cmd_key, 'replays', 1)
  redis.call('HDEL', cmd_key, 'dead_reason', 'next_ms', 'finished_ms')
  redis.call('PERSIST', cmd_key)
end
