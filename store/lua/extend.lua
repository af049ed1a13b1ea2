-- Renew a claim's lease (after a slow read, before the provider call); fenced by the token.
-- With a refund fingerprint (the records the order held before the first send), keep it now,
-- before the call: a worker that dies during the call still leaves the evidence behind.
-- KEYS: 1 command, 2 running
-- ARGV: 1 id, 2 token, 3 lease ms, 4 fingerprint json or '' (the first one kept is kept)
local f = redis.call('HMGET', KEYS[1], 'state', 'token')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return 0 end
local lease_until = now_ms() + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'lease_until', lease_until)
redis.call('ZADD', KEYS[2], lease_until, ARGV[1])
if ARGV[4] and ARGV[4] ~= '' then redis.call('HSETNX', KEYS[1], 'fingerprint', ARGV[4]) end
return 1
