-- Whether a provider account may be called now: a 429 pause first, then the circuit breaker,
-- then the rate limit. The rate limit is GCRA with reservation: a caller told to wait holds
-- its slot, so it can go without asking again when it comes back (pass reserved=1 then).
-- KEYS: 1 breaker hash, 2 rate (theoretical arrival time), 3 pause (set on a 429)
-- ARGV: 1 interval ms (whole), 2 burst, 3 reserved (0/1), 4 probe lease ms, 5 recheck ms
-- Returns {wait ms, why, breaker has failures or is open (0/1)}: why is '', 'paused', 'open',
-- 'probing' or 'rate'. A caller that learns the breaker is clean need not report a success.
local now = now_ms()
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return {paused, 'paused', 1} end
local b = redis.call('HMGET', KEYS[1], 'state', 'open_until', 'probe_until', 'failures')
local dirty = 0
if b[1] == 'open' or tonumber(b[4] or 0) > 0 then dirty = 1 end
local probe = false
if b[1] == 'open' then
  if now < tonumber(b[2]) then return {tonumber(b[2]) - now, 'open', 1} end
  -- while a probe is out the others look again soon: it may close the breaker any moment
  if b[3] and now < tonumber(b[3]) then
    return {math.min(tonumber(b[3]) - now, tonumber(ARGV[5])), 'probing', 1}
  end
  probe = true
end
if ARGV[3] ~= '1' then
  local interval = tonumber(ARGV[1])
  local tat = tonumber(redis.call('GET', KEYS[2]) or now)
  if tat < now then tat = now end
  local wait = tat - now - (tonumber(ARGV[2]) - 1) * interval
  redis.call('SET', KEYS[2], tat + interval, 'PX', tat + interval - now + 1000)
  if wait > 0 then return {wait, 'rate', dirty} end  -- a would-be probe waits its turn like anyone
end
if probe then redis.call('HSET', KEYS[1], 'probe_until', now + tonumber(ARGV[4])) end
return {0, '', dirty}
