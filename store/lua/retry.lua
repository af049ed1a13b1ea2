-- Park a claimed command in the retry schedule until its next attempt is due.
-- KEYS: 1 command, 2 attempts, 3 running, 4 schedule, 5 stats, 6 outcome stream
-- ARGV: 1 id, 2 token, 3 attempt json or '', 4 delay ms, 5 counter to spend or '',
--       6 reconcile first (0/1), 7 message, 8 provider, 9 kind,
--       10 the attempt's refund fingerprint json or '' (the first one written is kept),
--       11 outcome stream max length
-- A retry after a recorded attempt is an outcome event (retry_scheduled); one that records no
-- attempt (a wait that spends nothing) is not.
local f = redis.call('HMGET', KEYS[1], 'state', 'token')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return {'fenced', f[1] or ''} end
local now = now_ms()
local due = now + tonumber(ARGV[4])
index_state(KEYS[1], ARGV[1], 'retrying')
redis.call('HSET', KEYS[1], 'state', 'retrying', 'next_ms', due, 'deliveries', 0,
  'reconcile', ARGV[6], 'last_message', ARGV[7], 'updated_ms', now)
redis.call('HDEL', KEYS[1], 'token', 'lease_until')
if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[1], ARGV[5], 1) end
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[3]) end
if ARGV[10] ~= '' then redis.call('HSETNX', KEYS[1], 'fingerprint', ARGV[10]) end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], due, ARGV[1])
if ARGV[3] ~= '' then
  local delay = tonumber(ARGV[4])
  redis.call('HINCRBY', KEYS[5], 'retry|' .. ARGV[8] .. '|' .. ARGV[9], 1)
  redis.call('HINCRBY', KEYS[5], 'retry_delay_ms|' .. ARGV[8] .. '|' .. bucket(delay), 1)
  redis.call('HINCRBY', KEYS[5], 'retry_delay_ms_sum|' .. ARGV[8], delay)
  count_minute('retry|' .. ARGV[8] .. '|' .. ARGV[9])
  emit_outcome(KEYS[6], ARGV[11], KEYS[1], ARGV[1], 'retry_scheduled')
end
return {'ok', tostring(due)}
