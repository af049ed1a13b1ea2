-- Drop dead letters past the age or count bound, admission-index entries past retention, and
-- the search-index entries of records whose retention ran out (the unindex queue).
-- KEYS: 1 dead letters, 2 recent, 3 audit
-- ARGV: 1 max age ms, 2 max count, 3 retention ms, 4 command key prefix, 5 dead-letter key
--       prefix ('...:dlq:'), 6 batch limit
local now = now_ms()
local limit = tonumber(ARGV[6])
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, limit)
local excess = redis.call('ZCARD', KEYS[1]) - #old - tonumber(ARGV[2])
if excess > 0 then
  local extra = redis.call('ZRANGE', KEYS[1], #old, #old + math.min(excess, limit) - 1)
  for _, id in ipairs(extra) do table.insert(old, id) end
end
for _, id in ipairs(old) do
  local key = ARGV[4] .. id
  local f = redis.call('HMGET', key, 'dead_reason', 'envelope')
  redis.call('ZREM', KEYS[1], id)
  if f[1] then redis.call('ZREM', ARGV[5] .. 'reason:' .. f[1], id) end
  if f[2] then
    local provider = cjson.decode(f[2])['command']['provider']
    redis.call('ZREM', ARGV[5] .. 'provider:' .. provider, id)
  end
  unindex(key, id)
  redis.call('DEL', key, key .. ':attempts')
end
if #old > 0 then
  redis.call('XADD', KEYS[3], '*', 'action', 'expire', 'command_id', '', 'actor', 'ordercmd',
    'why', #old .. ' dead letters past the age or count bound', 'at_ms', now)
end
local recent = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
-- records expire as fast as commands finish: a call unindexes more of them than dead letters
local expired = redis.call('ZRANGEBYSCORE', UNINDEX_QUEUE, '-inf', now, 'LIMIT', 0, limit * 10)
for _, entry in ipairs(expired) do unindex_entry(entry) end
if #expired > 0 then redis.call('ZREMRANGEBYRANK', UNINDEX_QUEUE, 0, #expired - 1) end
return {#old, recent, #expired}
