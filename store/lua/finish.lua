-- End a claimed command (succeeded, already_done or dead) and release its order lane.
-- KEYS: 1 command, 2 attempts, 3 running, 4 lane, 5 dispatch, 6 dead letters,
--       7 dead letters by reason, 8 dead letters by provider, 9 outcome stream,
--       with a broker delivery to ack: 10 kombu's unacked hash, 11 its index
-- ARGV: 1 id, 2 token, 3 state, 4 attempt json or '', 5 dead reason or '', 6 message,
--       7 retention s, 8 guard ms, 9 command key prefix, 10 bulk guard ms,
--       11 outcome stream max length, 12 the delivery's tag (with KEYS 10 and 11)
-- Returns {'ok', next command of the lane or '', attempts recorded, ms since admission, now} (the
-- caller counts the outcome: store/tally.py) or {'fenced', state}.
-- the record is read once: its indexes and the outcome event come from these fields
local f = redis.call('HMGET', KEYS[1], 'state', 'token', 'created_ms', 'envelope', 'waiting_for')
if f[1] ~= 'running' or f[2] ~= ARGV[2] then return {'fenced', f[1] or ''} end
local now = now_ms()
local created = tonumber(f[3])
local e = cjson.decode(f[4])
move_index(ARGV[1], f[3], f[1], f[5], ARGV[3])
if ARGV[3] ~= 'dead' then queue_unindex(ARGV[1], ARGV[3], e['command'], ARGV[7]) end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'updated_ms', now, 'deliveries', 0,
  'last_message', ARGV[6], 'finished_ms', now)
redis.call('HDEL', KEYS[1], 'token', 'lease_until', 'next_ms')
-- RPUSH answers the list's length: LLEN only when no attempt is recorded
local recorded
if ARGV[4] ~= '' then
  recorded = redis.call('RPUSH', KEYS[2], ARGV[4])
else
  recorded = redis.call('LLEN', KEYS[2])
end
redis.call('ZREM', KEYS[3], ARGV[1])
if ARGV[3] == 'dead' then
  redis.call('HSET', KEYS[1], 'dead_reason', ARGV[5])
  redis.call('ZADD', KEYS[6], now, ARGV[1])
  redis.call('ZADD', KEYS[7], now, ARGV[1])
  redis.call('ZADD', KEYS[8], now, ARGV[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('EXPIRE', KEYS[2], ARGV[7])
end
add_outcome(KEYS[9], ARGV[11], ARGV[1], ARGV[3], ARGV[5], e, ARGV[3], ARGV[6], recorded)
local nxt = release_lane(KEYS[4], ARGV[1], ARGV[9], KEYS[5], now, tonumber(ARGV[8]),
  tonumber(ARGV[10]))
if ARGV[12] then  -- the delivery is acked with its outcome (store/delivery_ack.py)
  redis.call('HDEL', KEYS[10], ARGV[12])
  redis.call('ZREM', KEYS[11], ARGV[12])
end
return {'ok', nxt, recorded, now - created, now}
