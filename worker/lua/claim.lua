-- Claim a command for one delivery under a lease; duplicates and stale messages are no-ops.
-- KEYS: 1 command, 2 running, 3 dispatch, 4 schedule, 5 attempts
-- ARGV: 1 id, 2 token, 3 lease ms, 4 early ms (how early a retry may start)
local f = redis.call('HMGET', KEYS[1], 'state', 'lease_until', 'next_ms')
local state = f[1]
if not state then return {'missing', ''} end
if is_terminal(state) then return {'finished', state} end
if state == 'waiting' then return {'not_head', state} end
local now = now_ms()
if state == 'running' then
  if tonumber(f[2]) > now then return {'busy', state} end
  -- the last delivery died holding the lease: it may have reached the provider
  redis.call('HSET', KEYS[1], 'reconcile', 1)
elseif state == 'retrying' then
  if tonumber(f[3]) > now + tonumber(ARGV[4]) then return {'not_due', state} end
end
local deliveries = redis.call('HINCRBY', KEYS[1], 'deliveries', 1)
local lease_until = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'state', 'running', 'token', ARGV[2], 'lease_until', lease_until,
  'updated_ms', now)
redis.call('HSETNX', KEYS[1], 'first_claim_ms', now)
redis.call('ZADD', KEYS[2], lease_until, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
local r = redis.call('HMGET', KEYS[1], 'envelope', 'attempts_n', 'unprocessable_n', 'reconcile',
  'first_claim_ms', 'reserved')
redis.call('HDEL', KEYS[1], 'reserved')  -- a held rate-limit slot is good for one delivery
return {'claimed', r[1], r[2], r[3], r[4], r[5], deliveries, now, redis.call('LLEN', KEYS[5]),
  r[6] or '0'}
