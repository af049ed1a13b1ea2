-- A bulk run over a snapshot of dead letters: start it, take its next command, or cancel it.
-- KEYS: 1 run hash, 2 the run's pending ids (list), 3 audit
-- ARGV: 1 op ('start' | 'take' | 'cancel'), 2 actor, 3 rate per s (start)
-- Returns: {'take', id} | {'ok', previous status} | {status, ''} when the op does not apply.
local now = now_ms()
local run = redis.call('HMGET', KEYS[1], 'status', 'action', 'why', 'id')
local status = run[1]
if not status then return {'missing', ''} end
if ARGV[1] == 'take' then
  if status ~= 'running' then return {status, ''} end
  local id = redis.call('LPOP', KEYS[2])
  if not id then
    redis.call('HSET', KEYS[1], 'status', 'done', 'finished_ms', now, 'beat_ms', now)
    return {'done', ''}
  end
  redis.call('HSET', KEYS[1], 'beat_ms', now)
  redis.call('HINCRBY', KEYS[1], 'taken', 1)
  return {'take', id}
end
local left = redis.call('LLEN', KEYS[2])
if ARGV[1] == 'start' then
  if status ~= 'planned' then return {status, ''} end
  redis.call('HSET', KEYS[1], 'status', 'running', 'started_ms', now, 'beat_ms', now,
    'rate', ARGV[3], 'started_by', ARGV[2])
elseif ARGV[1] == 'cancel' then
  if status ~= 'planned' and status ~= 'running' then return {status, ''} end
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'finished_ms', now, 'left', left,
    'cancelled_by', ARGV[2])
  redis.call('DEL', KEYS[2])
else
  return redis.error_reply('unknown op ' .. ARGV[1])
end
redis.call('XADD', KEYS[3], '*', 'action', 'bulk_' .. run[2] .. '_' .. ARGV[1], 'command_id', '',
  'actor', ARGV[2], 'why', run[3], 'at_ms', now, 'run', run[4], 'count', left)
return {'ok', status}
