-- Put a dead letter back at the tail of its order lane, budgets reset, read-before-send on.
-- KEYS: 1 command, 2 dead letters, 3 by reason, 4 by provider, 5 lane, 6 dispatch, 7 audit,
--       8 outcome stream
-- ARGV: 1 id, 2 guard ms, 3 expected dead reason, 4 actor, 5 why, 6 retention s,
--       7 outcome stream max length,
--       8 priority class at the flow gate ('live': an operator's own replay; 'bulk': a bulk run's)
local f = redis.call('HMGET', KEYS[1], 'state', 'dead_reason')
if f[1] ~= 'dead' or f[2] ~= ARGV[3] then return {'not_dead', f[1] or 'missing'} end
local now = now_ms()
local state = requeue_dead(ARGV[1], ARGV[2], now)
redis.call('HSET', KEYS[1], 'state', state, 'waiting_for', 'lane', 'attempts_n', 0,
  'unprocessable_n', 0, 'deliveries', 0, 'reconcile', 1, 'updated_ms', now,
  'last_message', 'replayed: ' .. ARGV[5], 'class', ARGV[8])
revive(KEYS[1])
redis.call('XADD', KEYS[7], '*', 'action', 'replay', 'command_id', ARGV[1], 'actor', ARGV[4],
  'why', ARGV[5], 'at_ms', now)
emit_outcome(KEYS[8], ARGV[7], KEYS[1], ARGV[1], 'replayed', ARGV[3])
return {'ok', state}
