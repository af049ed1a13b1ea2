-- Renew a claim's lease (after a slow read, before the provider call); fenced by the token.
-- KEYS: 1 command, 2 running
-- ARGV: 1 id, 2 token, 3 lease ms
local f = redis.call('HMGET', KEYS[1], 'state', 'token')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return 0 end
local lease_until = now_ms() + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'lease_until', lease_until)
redis.call('ZADD', KEYS[2], lease_until, ARGV[1])
return 1
