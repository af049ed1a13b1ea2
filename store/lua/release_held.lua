-- Release the commands an operator's pause held, once their account is resumed: in admission
-- order, one per slot of the account's rate limit from now (never a burst), only as many as
-- fall within `lookahead`; each one released books its slot, is marked so the claim lets it
-- pass the draining account, and is due for a message at its slot. When an account's held set
-- is empty, its draining mark goes: from then on its commands are gated as usual.
-- KEYS: 1 dispatch, 2 schedule, then 2 per account: held set, rate (theoretical arrival time)
-- ARGV: 1 most ids per account, 2 command key prefix, then 4 per account: account, provider,
--       rate interval ms ('0': no gate known, release at once), lookahead ms
-- Returns the number of commands released for each account, in order.
local now = now_ms()

-- Whether the account (or its provider) is still paused: release nothing.
local function paused(account, provider)
  local p = redis.call('HMGET', PAUSED, provider, provider .. ':' .. account)
  return p[1] ~= false or (p[2] ~= false and cjson.decode(p[2])['state'] == 'paused')
end

-- The held set is empty: the account is gated as usual again.
local function drained(account, provider)
  redis.call('SREM', HELD_ACCOUNTS, account)
  local field = provider .. ':' .. account
  local p = redis.call('HGET', PAUSED, field)
  if p and cjson.decode(p)['state'] == 'draining' then redis.call('HDEL', PAUSED, field) end
end

-- Book `slot` for a held command and make it due then; false when it is not waiting any more
-- (claimed by a duplicate message since, finished, discarded, or gone).
local function hand_out(id, slot)
  local key = ARGV[2] .. id
  local f = redis.call('HMGET', key, 'state', 'waiting_for')
  if f[1] ~= 'waiting' or f[2] ~= 'paused' then return false end
  redis.call('HSET', key, 'reserved', slot, 'next_ms', slot, 'hold', 'released')
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZADD', KEYS[1], slot, id)
  return true
end

local function release(k, a, limit)
  local account, provider = ARGV[a], ARGV[a + 1]
  if redis.call('ZCARD', KEYS[k]) == 0 then
    drained(account, provider)
    return 0
  end
  if paused(account, provider) then return 0 end
  local interval, ahead = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local tat = math.max(tonumber(redis.call('GET', KEYS[k + 1]) or now), now)
  local n = 0
  while n < limit and tat - now <= ahead do
    local popped = redis.call('ZPOPMIN', KEYS[k])
    if #popped == 0 then break end
    if hand_out(popped[1], tat) then
      tat = tat + interval
      n = n + 1
    end
  end
  if n > 0 and interval > 0 then
    redis.call('SET', KEYS[k + 1], tat, 'PX', tat - now + 1000)
  end
  if redis.call('ZCARD', KEYS[k]) == 0 then drained(account, provider) end
  return n
end

local released = {}
for i = 0, (#KEYS - 2) / 2 - 1 do
  released[i + 1] = release(3 + 2 * i, 3 + 4 * i, tonumber(ARGV[1]))
end
return released
