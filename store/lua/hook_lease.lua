-- Lease a webhook subscription's deliveries to one task: only the holder sends, in stream order.
-- A subscription seen for the first time starts at the stream's newest event (from now on).
-- KEYS: 1 subscription state, 2 outcome stream
-- ARGV: 1 token, 2 lease ms
-- Returns {'leased', cursor, head attempts, failures in a row, failing since ms or '', now ms}
--   or {why not ('disabled', 'busy', 'not_due'), ''}.
local s = redis.call('HMGET', KEYS[1], 'disabled', 'lease_until', 'next_ms', 'cursor',
  'head_attempts', 'failures', 'failing_since_ms')
local now = now_ms()
if s[1] == '1' then return {'disabled', ''} end
if s[2] and tonumber(s[2]) > now then return {'busy', ''} end
if s[3] and tonumber(s[3]) > now then return {'not_due', ''} end
local cursor = s[4]
if not cursor then
  local newest = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
  cursor = newest[1] and newest[1][1] or '0-0'
  redis.call('HSET', KEYS[1], 'cursor', cursor)
end
redis.call('HSET', KEYS[1], 'lease_token', ARGV[1], 'lease_until', now + tonumber(ARGV[2]))
return {'leased', cursor, s[5] or '0', s[6] or '0', s[7] or '', now}
