-- Release bulk commands from their accounts' backlogs, oldest first, only as many as each
-- account's rate limit can take soon: each one released books its slot (GCRA, like a claim told
-- to wait) and is due for a message at that slot's time, so it never waits behind the rest of
-- its batch and live commands never wait behind more than `lookahead` of bulk bookings.
-- An account whose bulk is starved by live traffic is still owed one slot per share interval.
-- Each release is noted in the account's released stream (its count, the stream trimmed to its
-- last few hundred): the rate the backlog drains at, for its ETA (store/waits.py).
-- KEYS: 1 dispatch, then 6 per account: backlog, rate, bulk share, pause, breaker, released
-- ARGV: 1 most ids per account, 2 command key prefix, then 5 per account: account, rate interval
--       ms ('0': no gate known, release at once), burst, lookahead ms, share interval ms ('0': none)
-- Returns the number of commands released for each account, in order.
local now = now_ms()
local RELEASES_KEPT = 512 -- about: enough for the minute store/waits.py measures over

-- Book `slot` for a backlogged command and make it due then; false when it is not waiting any
-- more (claimed by a duplicate message since, finished, or gone): its entry is just dropped.
-- It stays 'waiting' for 'backlog' until claimed (a slot booked, `next_ms`: when). Records
-- written before that state kept 'queued' or 'retrying' in the backlog. A command in the
-- backlog is in no other set: a claim takes it out before it parks or runs.
local function hand_out(id, slot, gated)
  local key = ARGV[2] .. id
  local f = redis.call('HMGET', key, 'state', 'waiting_for')
  local waiting = f[1] == 'waiting' and f[2] == 'backlog'
  if not waiting and f[1] ~= 'queued' and f[1] ~= 'retrying' then return false end
  if gated then redis.call('HSET', key, 'reserved', slot, 'next_ms', slot) end
  redis.call('ZADD', KEYS[1], slot, id)
  return true
end

-- Whether the account may not be called now (a 429 pause, an open breaker): release nothing.
local function held(k)
  if redis.call('PTTL', KEYS[k + 3]) > 0 then return true end
  local b = redis.call('HMGET', KEYS[k + 4], 'state', 'open_until')
  return b[1] == 'open' and now < tonumber(b[2] or 0)
end

-- Whether bulk is owed a slot of the account now: its share key's time has passed.
local function owed(k, share)
  return share > 0 and tonumber(redis.call('GET', KEYS[k + 2]) or 0) <= now
end

local function release(k, a, limit)
  if redis.call('ZCARD', KEYS[k]) == 0 then
    redis.call('SREM', BACKLOGS, ARGV[a])
    return 0
  end
  local interval, burst = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local ahead, share = tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
  local tat = math.max(tonumber(redis.call('GET', KEYS[k + 1]) or now), now)
  -- most ticks of a busy account have nothing to release: found with the fewest reads
  local due = tat - now - (burst - 1) * interval <= ahead or owed(k, share)
  if not due or held(k) then return 0 end
  local n, extra = 0, tat - now - (burst - 1) * interval > ahead
  while n < limit do
    local wait = tat - now - (burst - 1) * interval
    if wait > ahead and not extra then break end
    local popped = redis.call('ZPOPMIN', KEYS[k])
    if #popped == 0 then break end
    if hand_out(popped[1], now + math.max(wait, 0), interval > 0) then
      tat = tat + interval
      n = n + 1
      extra = false -- the share owed is one slot
    end
  end
  if n > 0 and interval > 0 then
    redis.call('SET', KEYS[k + 1], tat, 'PX', tat - now + 1000)
    -- bulk is owed its next slot one share interval after this one, however many it took
    if share > 0 then redis.call('SET', KEYS[k + 2], now + share, 'PX', share + 1000) end
  end
  if n > 0 then redis.call('XADD', KEYS[k + 5], 'MAXLEN', '~', RELEASES_KEPT, '*', 'n', n) end
  return n
end

local released = {}
for i = 0, (#KEYS - 1) / 6 - 1 do
  released[i + 1] = release(2 + 6 * i, 3 + 5 * i, tonumber(ARGV[1]))
end
return released
