-- A bulk run over a snapshot of dead letters: add a chunk to its plan, start it, take the ids
-- that are due by its rate, report what was done to them, or cancel it. Every driver (each
-- worker, a waiting CLI) calls this; the rate holds across all of them, and each id's result
-- counts once, because only this script moves the run.
-- A take leases its ids: they wait in flight (scored by when they were handed out) until their
-- driver reports them; ids whose lease ran out go out again first, so a driver that dies loses
-- nothing. An id acted on since it was handed out (no longer dead, or dead again later) is not
-- handed out again but counted skipped; if its slow driver then reports what it did, that
-- result replaces the skip.
-- KEYS: 1 run hash, 2 the run's pending ids (list), 3 its counts (hash), 4 active runs (zset),
--       5 audit, 6 its ids in flight (zset, by ms handed out), 7 its ids counted skipped (set),
--       8 dead letters (zset, by ms died)
-- ARGV: 1 op, 2 actor, then per op:
--   'plan'   3 cursor the chunk was read from, 4 next cursor ('' = the plan is complete),
--            5 index entries examined, 6.. pairs of id and 'provider|kind|reason'
--   'start'  3 rate per s, 4 why ('' or absent: the plan's reason stands)
--   'take'   3 most ids to hand out, 4 lease in ms
--   'done'   3.. pairs of id and result (queued, waiting, discarded, skipped)
--   'cancel' nothing more
-- Returns: {'take', ms until the next id is due, id...} | {'wait', ms until one is due}
--          | {'ok', previous status} | {'ok', results counted} (done)
--          | {status, ''} when the op does not apply to the run now.
local now = now_ms()
local op = ARGV[1]
local run = redis.call('HMGET', KEYS[1], 'status', 'action', 'why', 'id', 'rate', 'take_at_ms')
local status = run[1]
if not status then return {'missing', ''} end

local function settle(new_status)
  redis.call('HSET', KEYS[1], 'status', new_status, 'finished_ms', now, 'beat_ms', now)
  redis.call('ZREM', KEYS[4], run[4])
end

local function expire_with_run(...)
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    for _, key in ipairs({...}) do redis.call('PEXPIRE', key, ttl) end
  end
end

local function count(id, result)
  redis.call('HINCRBY', KEYS[1], result, 1)
  if result == 'skipped' then
    redis.call('SADD', KEYS[7], id)
    expire_with_run(KEYS[7])
  end
end

local function finished() -- nothing left to hand out, no result still to come
  return redis.call('LLEN', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[6]) == 0
end

if op == 'plan' then
  if status ~= 'planning' then return {status, ''} end
  -- compare-and-set on the cursor: two drivers reading one chunk add it once
  if redis.call('HGET', KEYS[1], 'plan_cursor') ~= ARGV[3] then return {'stale', ''} end
  local found = 0
  for i = 6, #ARGV, 2 do
    redis.call('RPUSH', KEYS[2], ARGV[i])
    redis.call('HINCRBY', KEYS[3], ARGV[i + 1], 1)
    found = found + 1
  end
  expire_with_run(KEYS[2], KEYS[3])
  redis.call('HINCRBY', KEYS[1], 'total', found)
  redis.call('HINCRBY', KEYS[1], 'examined', tonumber(ARGV[5]))
  if ARGV[4] == '' then
    redis.call('HSET', KEYS[1], 'status', 'planned', 'planned_ms', now, 'beat_ms', now)
    redis.call('HDEL', KEYS[1], 'plan_cursor')
    redis.call('ZREM', KEYS[4], run[4])
  else
    redis.call('HSET', KEYS[1], 'plan_cursor', ARGV[4], 'beat_ms', now)
  end
  return {'ok', status}
end

if op == 'done' then
  -- any status: a driver still acting when the run was cancelled reports what it did
  local counted = 0
  for i = 3, #ARGV, 2 do
    local id, result = ARGV[i], ARGV[i + 1]
    if redis.call('ZREM', KEYS[6], id) == 1 then
      count(id, result)
      counted = counted + 1
    elseif result ~= 'skipped' and redis.call('SREM', KEYS[7], id) == 1 then
      -- its lease ran out and a take counted it skipped, yet this driver had acted on it
      if redis.call('HINCRBY', KEYS[1], 'skipped', -1) == 0 then
        redis.call('HDEL', KEYS[1], 'skipped')
      end
      redis.call('HINCRBY', KEYS[1], result, 1)
    end
  end
  if status == 'running' and finished() then settle('done') end
  return {'ok', tostring(counted)}
end

-- ids whose lease ran out: out again if still dead since they were handed out, else skipped
local function take_lapsed(out, due, lease)
  local lapsed = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now - lease, 'WITHSCORES',
    'LIMIT', 0, due)
  for i = 1, #lapsed, 2 do
    local id, died = lapsed[i], redis.call('ZSCORE', KEYS[8], lapsed[i])
    if died and tonumber(died) <= tonumber(lapsed[i + 1]) then
      table.insert(out, id) -- nobody acted on it yet
    else
      redis.call('ZREM', KEYS[6], id)
      count(id, 'skipped')
    end
  end
end

if op == 'take' then
  if status ~= 'running' then return {status, ''} end
  if finished() then
    settle('done')
    return {'done', ''}
  end
  redis.call('HSET', KEYS[1], 'beat_ms', now)
  local step = 1000 / tonumber(run[5])
  -- credit left unused (no driver, or a slow one) is kept for one second at most
  local at = math.max(tonumber(run[6]), now - math.max(1000, step))
  local due = math.min(math.floor((now - at) / step), tonumber(ARGV[3]))
  if due < 1 then return {'wait', tostring(math.ceil(at + step - now))} end
  local lease = tonumber(ARGV[4])
  local out = {'take', ''}
  take_lapsed(out, due, lease)
  while #out - 2 < due do
    local id = redis.call('LPOP', KEYS[2])
    if not id then break end
    table.insert(out, id)
  end
  local taken = #out - 2
  if taken == 0 then
    if finished() then -- the last ids in flight were acted on elsewhere
      settle('done')
      return {'done', ''}
    end
    -- all handed out: wait for their drivers to report, or for the first lease to run out
    local first = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
    return {'wait', tostring(math.max(1, math.ceil(tonumber(first[2]) + lease - now)))}
  end
  for i = 3, #out do redis.call('ZADD', KEYS[6], now, out[i]) end
  expire_with_run(KEYS[6])
  at = at + taken * step
  redis.call('HSET', KEYS[1], 'take_at_ms', string.format('%.3f', at))
  out[2] = tostring(math.max(0, math.ceil(at + step - now)))
  return out
end

local left = redis.call('LLEN', KEYS[2])
if op == 'start' then
  if status ~= 'planned' then return {status, ''} end
  local rate = tonumber(ARGV[3])
  if not rate or rate <= 0 then return redis.error_reply('rate must be above 0') end
  if ARGV[4] and ARGV[4] ~= '' then  -- a dry run planned without a reason gets it now
    run[3] = ARGV[4]
    redis.call('HSET', KEYS[1], 'why', run[3])
  end
  -- one id is due at once, the next after 1/rate s
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_ms', now, 'beat_ms', now,
    'rate', ARGV[3], 'started_by', ARGV[2], 'take_at_ms', string.format('%.3f', now - 1000 / rate))
  redis.call('ZADD', KEYS[4], now, run[4])
elseif op == 'cancel' then
  if status ~= 'planning' and status ~= 'planned' and status ~= 'running' then
    return {status, ''}
  end
  -- nothing is handed out any more; the ids in flight stay there only for their reports
  settle('cancelled')
  redis.call('HSET', KEYS[1], 'left', left, 'cancelled_by', ARGV[2])
  redis.call('DEL', KEYS[2])
else
  return redis.error_reply('unknown op ' .. op)
end
redis.call('XADD', KEYS[5], '*', 'action', 'bulk_' .. run[2] .. '_' .. op, 'command_id', '',
  'actor', ARGV[2], 'why', run[3], 'at_ms', now, 'run', run[4], 'count', left)
return {'ok', status}
