-- Whether a webhook endpoint may be called now, shared by every worker: its circuit breaker
-- (recorded by breaker.lua, as a provider account's is), then its rate limit (GCRA on the
-- theoretical arrival time, the prelude's as claim.lua's gate). A batch asks for up to
-- `wanted` calls at once and gets the slots free now (one while half-open: the probe); calls
-- let through have taken their slots, a caller told to wait holds none (it asks again).
-- KEYS: 1 breaker hash, 2 rate (theoretical arrival time, ms)
-- ARGV: 1 interval ms (whole), 2 burst, 3 probe lease ms, 4 recheck ms, 5 calls wanted
-- Returns {calls allowed now, wait ms when none, why ('' | 'open' | 'probing' | 'rate'),
--   breaker clean (1: closed and no failures, a success need not be recorded)}.
local now = now_ms()
local b = redis.call('HMGET', KEYS[1], 'state', 'open_until', 'probe_until', 'failures')
local wanted = tonumber(ARGV[5])
if b[1] == 'open' then
  if now < tonumber(b[2]) then return {0, tonumber(b[2]) - now, 'open', 0} end
  if b[3] and now < tonumber(b[3]) then
    return {0, math.min(tonumber(b[3]) - now, tonumber(ARGV[4])), 'probing', 0}
  end
  wanted = 1
end
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat, wait = gcra_peek(KEYS[2], now, interval, burst)
if wait > 0 then return {0, wait, 'rate', 0} end
local n = math.min(math.floor(-wait / interval) + 1, wanted) -- the slots free now
gcra_take(KEYS[2], now, tat, n, interval)
if b[1] == 'open' then redis.call('HSET', KEYS[1], 'probe_until', now + tonumber(ARGV[3])) end
local clean = (b[1] ~= 'open' and tonumber(b[4] or 0) == 0) and 1 or 0
return {n, 0, '', clean}
