-- Record how a provider call went: successes close the breaker, a run of failures opens it.
-- A failure while open only counts; a failed probe (half-open) opens it for another cool-down.
-- KEYS: 1 breaker hash
-- ARGV: 1 outcome ('ok' or 'fail'), 2 failures that open it, 3 cool-down ms, 4 window ms
-- Returns the breaker state after the call.
local now = now_ms()
local b = redis.call('HMGET', KEYS[1], 'state', 'failures', 'last_failure', 'probe_until')
if ARGV[1] == 'ok' then
  if b[1] == 'open' then
    redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0, 'changed_ms', now)
    redis.call('HDEL', KEYS[1], 'open_until', 'probe_until')
  elseif b[2] and tonumber(b[2]) > 0 then
    redis.call('HSET', KEYS[1], 'failures', 0)
  end
  return 'closed'
end
local failures = 1
if b[3] and now - tonumber(b[3]) <= tonumber(ARGV[4]) then failures = tonumber(b[2] or 0) + 1 end
redis.call('HSET', KEYS[1], 'failures', failures, 'last_failure', now)
local probing = b[1] == 'open' and b[4]
if probing or (b[1] ~= 'open' and failures >= tonumber(ARGV[2])) then
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', now + tonumber(ARGV[3]),
    'changed_ms', now)
  redis.call('HINCRBY', KEYS[1], 'opened', 1)
  redis.call('HDEL', KEYS[1], 'probe_until')
  return 'open'
end
if not b[1] then redis.call('HSET', KEYS[1], 'state', 'closed') end
return b[1] or 'closed'
