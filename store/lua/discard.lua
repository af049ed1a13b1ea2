-- Give up a dead letter for good: it leaves the queue, its record expires with the retention.
-- KEYS: 1 command, 2 dead letters, 3 by reason, 4 by provider, 5 audit, 6 attempts,
--       7 outcome stream
-- ARGV: 1 id, 2 expected dead reason, 3 actor, 4 why, 5 retention s,
--       6 outcome stream max length
local f = redis.call('HMGET', KEYS[1], 'state', 'dead_reason')
if f[1] ~= 'dead' or f[2] ~= ARGV[2] then return {'not_dead', f[1] or 'missing'} end
local now = now_ms()
for i = 2, 4 do redis.call('ZREM', KEYS[i], ARGV[1]) end
index_state(KEYS[1], ARGV[1], 'discarded', ARGV[5])
redis.call('HSET', KEYS[1], 'state', 'discarded', 'updated_ms', now,
  'last_message', 'discarded: ' .. ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[6], ARGV[5])
redis.call('XADD', KEYS[5], '*', 'action', 'discard', 'command_id', ARGV[1], 'actor', ARGV[3],
  'why', ARGV[4], 'at_ms', now)
emit_outcome(KEYS[7], ARGV[6], KEYS[1], ARGV[1], 'discarded', ARGV[2])
count_minute('discarded|' .. ARGV[2])
return {'ok', 'discarded'}
