-- Pause a provider account's rate limit after a 429 (the longest pause asked for wins).
-- KEYS: 1 pause key; ARGV: 1 pause ms
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], 1, 'PX', ARGV[1]) end
return 1
