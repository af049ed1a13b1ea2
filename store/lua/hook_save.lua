-- End a webhook lease: save how far deliveries got, pop redeliveries done, dead-letter the
-- deliveries that ran out of attempts. Fenced by the lease token: a lapsed holder saves nothing.
-- KEYS: 1 subscription state, 2 its redeliver list, 3 dead deliveries (zset), 4 their bodies
-- ARGV: 1 token, 2 state fields as a JSON object of strings ('' deletes the field),
--       3 redeliveries done (popped from the list's head), 4 dead-letter bound,
--       5 deliveries made, 6 failed calls (counted for /metrics), 7.. pairs of dead-letter member
--       and body
if redis.call('HGET', KEYS[1], 'lease_token') ~= ARGV[1] then return 0 end
local now = now_ms()
for field, value in pairs(cjson.decode(ARGV[2])) do
  if value == '' then redis.call('HDEL', KEYS[1], field)
  else redis.call('HSET', KEYS[1], field, value) end
end
for _ = 1, tonumber(ARGV[3]) do redis.call('LPOP', KEYS[2]) end
redis.call('HINCRBY', KEYS[1], 'delivered_total', ARGV[5])
redis.call('HINCRBY', KEYS[1], 'failed_total', ARGV[6])
for i = 7, #ARGV, 2 do
  redis.call('ZADD', KEYS[3], now, ARGV[i])
  redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1])
end
local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[4])
if excess > 0 then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, excess - 1)) do
    redis.call('HDEL', KEYS[4], member)
  end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, excess - 1)
end
redis.call('HDEL', KEYS[1], 'lease_token', 'lease_until')
return 1
