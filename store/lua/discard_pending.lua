-- Discard a command that has not started (waiting behind its lane, queued, or in its account's
-- bulk backlog with no attempt and no delivery that may have reached the provider); audited.
-- A discarded lane head releases the next command, due for a message at once; a bulk one
-- leaves its account's backlog.
-- KEYS: 1 command, 2 lane, 3 dispatch, 4 audit, 5 attempts, 6 outcome stream
-- ARGV: 1 id, 2 actor, 3 why, 4 retention s, 5 command key prefix, 6 outcome stream max length
local f = redis.call('HMGET', KEYS[1], 'state', 'waiting_for', 'reconcile')
local state, waiting = f[1], waits_for(f[1], f[2])
local unstarted = waiting == 'backlog' and f[3] ~= '1' and redis.call('LLEN', KEYS[5]) == 0
if state ~= 'queued' and waiting ~= 'lane' and not unstarted then
  return {'not_pending', state or 'missing'}
end
local now = now_ms()
redis.call('ZREM', KEYS[3], ARGV[1])
if is_bulk_id(ARGV[1]) then -- a bulk head may be waiting in its account's backlog instead
  local account = cjson.decode(redis.call('HGET', KEYS[1], 'envelope'))['command']['account']
  redis.call('ZREM', BACKLOG_PREFIX .. account, ARGV[1])
end
index_state(KEYS[1], ARGV[1], 'discarded', ARGV[4])
redis.call('HSET', KEYS[1], 'state', 'discarded', 'updated_ms', now,
  'last_message', 'discarded before it started: ' .. ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[5], ARGV[4])
local nxt = release_lane(KEYS[2], ARGV[1], ARGV[5], KEYS[3], now, 0)
redis.call('XADD', KEYS[4], '*', 'action', 'discard_pending', 'command_id', ARGV[1],
  'actor', ARGV[2], 'why', ARGV[3], 'at_ms', now)
emit_outcome(KEYS[6], ARGV[6], KEYS[1], ARGV[1], 'discarded')
count_minute('discarded|not_started')
return {'ok', nxt}
