-- Admit a command once per idempotency key; queue it if it heads its order lane.
-- KEYS: 1 idempotency, 2 command, 3 lane, 4 order history, 5 dispatch, 6 recent, 7 sequence
-- ARGV: 1 id, 2 envelope json, 3 fingerprint, 4 lane name, 5 retention s, 6 guard ms,
--       7 bulk guard ms (6 and 7 both 0 for the outbox: the head is due for the scheduler now),
--       8 provider, 9 account, 10 kind (for the search indexes)
local existing = redis.call('GET', KEYS[1])
if existing then
  local sep = string.find(existing, ' ', 1, true)
  local id = string.sub(existing, 1, sep - 1)
  if string.sub(existing, sep + 1) == ARGV[3] then return {'existing', id} end
  return {'conflict', id}
end
local now = now_ms()
local seq = redis.call('INCR', KEYS[7])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[3], 'EX', ARGV[5])
redis.call('RPUSH', KEYS[3], ARGV[1])
local head = redis.call('LINDEX', KEYS[3], 0) == ARGV[1]
local state = 'waiting'
if head then state = 'queued' end
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'envelope', ARGV[2], 'state', state, 'lane', ARGV[4],
  'created_ms', now, 'updated_ms', now, 'seq', seq, 'deliveries', 0, 'attempts_n', 0,
  'unprocessable_n', 0, 'reconcile', 0)
redis.call('ZADD', KEYS[4], seq, ARGV[1])
redis.call('EXPIRE', KEYS[4], ARGV[5])
redis.call('ZADD', KEYS[6], now, ARGV[1])
index_admitted(ARGV[1], {provider = ARGV[8], account = ARGV[9], kind = ARGV[10]}, state, now)
if head then
  redis.call('ZADD', KEYS[5], now + guard_for(ARGV[1], tonumber(ARGV[6]), tonumber(ARGV[7])), ARGV[1])
end
return {'admitted', ARGV[1], state}
