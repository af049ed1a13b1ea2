-- A bulk run over a snapshot of dead letters: add a chunk to its plan, start it, take the ids
-- that are due by its rate, or cancel it. Every driver (each worker, a waiting CLI) calls this;
-- the rate and "each id once" hold across all of them because only this script moves the run.
-- KEYS: 1 run hash, 2 the run's pending ids (list), 3 its counts (hash), 4 active runs (zset),
--       5 audit
-- ARGV: 1 op, 2 actor, then per op:
--   'plan'   3 cursor the chunk was read from, 4 next cursor ('' = the plan is complete),
--            5 index entries examined, 6.. pairs of id and 'provider|kind|reason'
--   'start'  3 rate per s
--   'take'   3 most ids to hand out
--   'cancel' nothing more
-- Returns: {'take', ms until the next id is due, id...} | {'wait', ms until one is due}
--          | {'ok', previous status} | {status, ''} when the op does not apply to the run now.
local now = now_ms()
local op = ARGV[1]
local run = redis.call('HMGET', KEYS[1], 'status', 'action', 'why', 'id', 'rate', 'take_at_ms',
  'taken', 'taken_ms', 'queued', 'waiting', 'discarded', 'skipped')
local status = run[1]
if not status then return {'missing', ''} end
local TAKEN_GRACE_MS = 60000 -- ids taken this long ago by a driver that never reported are lost

local function settle(new_status)
  redis.call('HSET', KEYS[1], 'status', new_status, 'finished_ms', now, 'beat_ms', now)
  redis.call('ZREM', KEYS[4], run[4])
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
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[2], ttl)
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
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

if op == 'take' then
  if status ~= 'running' then return {status, ''} end
  redis.call('HSET', KEYS[1], 'beat_ms', now)
  local step = 1000 / tonumber(run[5])
  -- credit left unused (no driver, or a slow one) is kept for one second at most
  local at = math.max(tonumber(run[6]), now - math.max(1000, step))
  local due = math.min(math.floor((now - at) / step), tonumber(ARGV[3]))
  if due < 1 then return {'wait', tostring(math.ceil(at + step - now))} end
  local out = {'take', ''}
  for _ = 1, due do
    local id = redis.call('LPOP', KEYS[2])
    if not id then break end
    table.insert(out, id)
  end
  local taken = #out - 2
  if taken == 0 then
    -- done once every taken id has its result (another driver may still be acting on some)
    local processed = 0
    for i = 9, 12 do processed = processed + (tonumber(run[i]) or 0) end
    if processed < (tonumber(run[7]) or 0) and now - tonumber(run[8] or 0) < TAKEN_GRACE_MS then
      return {'wait', tostring(math.ceil(step))}
    end
    settle('done')
    return {'done', ''}
  end
  at = at + taken * step
  redis.call('HSET', KEYS[1], 'take_at_ms', string.format('%.3f', at), 'taken_ms', now)
  redis.call('HINCRBY', KEYS[1], 'taken', taken)
  out[2] = tostring(math.max(0, math.ceil(at + step - now)))
  return out
end

local left = redis.call('LLEN', KEYS[2])
if op == 'start' then
  if status ~= 'planned' then return {status, ''} end
  local rate = tonumber(ARGV[3])
  if not rate or rate <= 0 then return redis.error_reply('rate must be above 0') end
  -- one id is due at once, the next after 1/rate s
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_ms', now, 'beat_ms', now,
    'rate', ARGV[3], 'started_by', ARGV[2], 'take_at_ms', string.format('%.3f', now - 1000 / rate))
  redis.call('ZADD', KEYS[4], now, run[4])
elseif op == 'cancel' then
  if status ~= 'planning' and status ~= 'planned' and status ~= 'running' then
    return {status, ''}
  end
  settle('cancelled')
  redis.call('HSET', KEYS[1], 'left', left, 'cancelled_by', ARGV[2])
  redis.call('DEL', KEYS[2])
else
  return redis.error_reply('unknown op ' .. op)
end
redis.call('XADD', KEYS[5], '*', 'action', 'bulk_' .. run[2] .. '_' .. op, 'command_id', '',
  'actor', ARGV[2], 'why', run[3], 'at_ms', now, 'run', run[4], 'count', left)
return {'ok', status}
