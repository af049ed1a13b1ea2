-- Park a claimed command in the retry schedule until its next attempt is due.
-- KEYS: 1 command, 2 attempts, 3 running, 4 schedule, 5 outcome stream
-- ARGV: 1 id, 2 token, 3 attempt json or '', 4 delay ms, 5 counter to spend or '',
--       6 reconcile first (0/1), 7 message,
--       8 the attempt's refund fingerprint json or '' (the first one written is kept),
--       9 outcome stream max length
-- The caller counts the retry (store/tally.py).
-- A retry after a recorded attempt is an outcome event (retry_scheduled); one that records no
-- attempt (a wait that spends nothing) is not.
-- the record is read once: its index and the outcome event come from these fields
local f = redis.call('HMGET', KEYS[1], 'state', 'token', 'created_ms', 'envelope', 'waiting_for')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return {'fenced', f[1] or ''} end
local now = now_ms()
local due = now + tonumber(ARGV[4])
move_index(ARGV[1], f[3], f[1], f[5], 'retrying')
redis.call('HSET', KEYS[1], 'state', 'retrying', 'next_ms', due, 'deliveries', 0,
  'reconcile', ARGV[6], 'last_message', ARGV[7], 'updated_ms', now)
redis.call('HDEL', KEYS[1], 'token', 'lease_until')
if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[1], ARGV[5], 1) end
local recorded
if ARGV[3] ~= '' then recorded = redis.call('RPUSH', KEYS[2], ARGV[3]) end
if ARGV[8] ~= '' then redis.call('HSETNX', KEYS[1], 'fingerprint', ARGV[8]) end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], due, ARGV[1])
if recorded then
  add_outcome(KEYS[5], ARGV[9], ARGV[1], 'retry_scheduled', nil, cjson.decode(f[4]), 'retrying',
    ARGV[7], recorded)
end
return {'ok', tostring(due)}
