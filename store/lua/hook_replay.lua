-- Replay one dead webhook delivery: it leaves the dead letters and joins its subscription's
-- redeliver list, once (a second replay of it finds nothing).
-- KEYS: 1 dead deliveries (zset), 2 their bodies (hash), 3 the subscription's redeliver list
-- ARGV: 1 member ('<subscription id> <event id>')
local body = redis.call('HGET', KEYS[2], ARGV[1])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 or not body then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('RPUSH', KEYS[3], cjson.decode(body)['event_json'])
return 1
