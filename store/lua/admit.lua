-- Admit a chunk of commands, each once per idempotency key; queue each that heads its order lane
-- (a bulk one in its account's backlog).
-- The commands are admitted in order, one after the other: a command sees the ones before it in
-- the chunk (the same key: existing or conflict; the same lane: it waits behind).
-- KEYS: 1 dispatch, 2 recent, 3 sequence; then 4 per command from 4: idempotency, command,
--       lane, order history
-- ARGV: 1 retention s, 2 guard ms, 3 bulk guard ms (2 and 3 both 0 for the outbox: a head is due
--       for the scheduler now); then 7 per command from 4: id, envelope json, fingerprint,
--       lane name, provider, account, kind (the last three for the search indexes)
-- Returns '<status> <id>' for each command, all joined by spaces into one string (one reply to
-- parse, not one per command): status queued or waiting (admitted, in that state: waiting behind
-- its lane, or a bulk head in its account's backlog), existing or
-- conflict (with the id admitted before under the key).
local retention_s, guard_ms, bulk_guard_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local ZADD_ARGS = 256 -- score and member arguments per ZADD call: bounds the stack unpack uses
local n = (#KEYS - 3) / 4
-- the chunk's admission sequence numbers, reserved at once (one INCRBY, not one INCR a command);
-- a command found existing leaves its number unused: the order is kept, the numbers may skip
local first_seq = redis.call('INCRBY', KEYS[3], n) - n
local backlogged = {} -- accounts this call already listed in BACKLOGS

-- Search and admission-index entries by key, written once per key at the end: nothing in a chunk
-- reads them, and one ZADD per key costs less than one per command (about 5 us of 30 per
-- command, measured). Should a call fail midway, the commands before lack only these entries.
local entries = {}
local function zadd(key, score, member)
  local pending = entries[key]
  if not pending then
    pending = {}
    entries[key] = pending
  end
  pending[#pending + 1] = score
  pending[#pending + 1] = member
end

local function admit_one(k, a, seq)
  local id = ARGV[a]
  -- one call for a new key (the common case): set unless present; a key seen before is read
  if not redis.call('SET', KEYS[k], id .. ' ' .. ARGV[a + 2], 'NX', 'EX', retention_s) then
    local existing = redis.call('GET', KEYS[k])
    local sep = string.find(existing, ' ', 1, true)
    local status = 'conflict'
    if string.sub(existing, sep + 1) == ARGV[a + 2] then status = 'existing' end
    return status .. ' ' .. string.sub(existing, 1, sep - 1)
  end
  local head = redis.call('RPUSH', KEYS[k + 2], id) == 1 -- the lane was empty
  local bulk_head = head and is_bulk_id(id)
  -- behind its lane it waits; a head is queued, a bulk head waits in its account's backlog
  local state, waiting_for = 'waiting', 'lane'
  if bulk_head then waiting_for = 'backlog' elseif head then state, waiting_for = 'queued', '' end
  redis.call('HSET', KEYS[k + 1], 'id', id, 'envelope', ARGV[a + 1], 'state', state,
    'lane', ARGV[a + 3], 'created_ms', now, 'updated_ms', now, 'seq', seq, 'deliveries', 0,
    'attempts_n', 0, 'unprocessable_n', 0, 'reconcile', 0, 'waiting_for', waiting_for)
  redis.call('ZADD', KEYS[k + 3], seq, id)
  redis.call('EXPIRE', KEYS[k + 3], retention_s)
  zadd(KEYS[2], now, id)
  local c = {provider = ARGV[a + 4], account = ARGV[a + 5], kind = ARGV[a + 6]}
  index_admitted(id, c, state, now, zadd)
  if state == 'waiting' then zadd(index_key('waiting_for', waiting_for), now, id) end
  -- written with the record, not at the end: an admitted head is never unsent. A bulk head
  -- waits in its account's backlog: the scheduler sends it when the account has a slot for it.
  if bulk_head then
    to_backlog(id, ARGV[a + 5], seq, backlogged)
  elseif head then
    redis.call('ZADD', KEYS[1], now + guard_for(id, guard_ms, bulk_guard_ms), id)
  end
  return state .. ' ' .. id
end

local replies = {}
for i = 0, n - 1 do
  replies[i + 1] = admit_one(4 + 4 * i, 4 + 7 * i, first_seq + i + 1)
end
for key, pending in pairs(entries) do
  for first = 1, #pending, ZADD_ARGS do
    redis.call('ZADD', key, unpack(pending, first, math.min(first + ZADD_ARGS - 1, #pending)))
  end
end
return table.concat(replies, ' ')
