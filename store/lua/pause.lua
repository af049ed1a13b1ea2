-- Pause a provider account after a 429 (the longest pause asked for wins), and push the rate
-- limit's next slot past the pause, so calls resume at the limit rather than in a burst.
-- KEYS: 1 pause key, 2 rate (theoretical arrival time)
-- ARGV: 1 pause ms
local now = now_ms()
local pause = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < pause then redis.call('SET', KEYS[1], 1, 'PX', pause) end
local tat = tonumber(redis.call('GET', KEYS[2]) or 0)
if tat < now + pause then redis.call('SET', KEYS[2], now + pause, 'PX', pause + 1000) end
return 1
