-- Hand out commands that need a (re-)sent message: due retries, unclaimed dispatches, dead leases.
-- KEYS: sorted sets scored by the time a message is due (schedule, dispatch, running)
-- ARGV: 1 limit per set, 2 guard ms (when to hand the same command out again if still unclaimed),
--       3 bulk guard ms
local now = now_ms()
local out = {}
for _, key in ipairs(KEYS) do
  local ids = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
  for _, id in ipairs(ids) do
    redis.call('ZADD', key, now + guard_for(id, tonumber(ARGV[2]), tonumber(ARGV[3])), id)
    table.insert(out, id)
  end
end
return out
