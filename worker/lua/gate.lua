-- Whether a provider account may be called now: circuit breaker first, then the rate limit.
-- The rate limit is GCRA with reservation: a caller told to wait holds its slot, so it can go
-- without asking again when it comes back (pass reserved=1 then).
-- KEYS: 1 breaker hash, 2 rate (theoretical arrival time), 3 pause (set on a 429)
-- ARGV: 1 interval ms, 2 burst, 3 reserved (0/1), 4 probe lease ms
-- Returns {wait ms, why}: why is '', 'open', 'probing', 'paused' or 'rate'
local now = now_ms()
local b = redis.call('HMGET', KEYS[1], 'state', 'open_until', 'probe_until')
if b[1] == 'open' then
  if now < tonumber(b[2]) then return {tonumber(b[2]) - now, 'open'} end
  if b[3] and now < tonumber(b[3]) then return {tonumber(b[3]) - now, 'probing'} end
  -- cooled down: this caller is the one probe; the others wait for its outcome
  redis.call('HSET', KEYS[1], 'probe_until', now + tonumber(ARGV[4]))
end
if ARGV[3] == '1' then return {0, ''} end
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then return {paused, 'paused'} end
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[2]) or now)
if tat < now then tat = now end
local wait = tat - now - (tonumber(ARGV[2]) - 1) * interval
if wait < 0 then wait = 0 end
local new_tat = tat + interval
redis.call('SET', KEYS[2], new_tat, 'PX', new_tat - now + 1000)
if wait > 0 then return {wait, 'rate'} end
return {0, ''}
