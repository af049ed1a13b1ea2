-- Claim a command for one delivery under a lease; duplicates and stale messages are no-ops.
-- With its account's flow keys, the claim also gates the call: when a 429 pause, an open
-- circuit breaker or the rate limit says wait, the command waits (state 'waiting', with what
-- for in 'waiting_for') in the retry schedule instead, in the same step (the wait spends no
-- attempt and holds no worker slot). A command waiting for its lane is not claimed. When an
-- operator paused the account or its provider (the PAUSED hash), it waits aside (`hold`).
-- KEYS: 1 command, 2 running, 3 dispatch, 4 schedule, 5 attempts,
--       optional 6 breaker hash, 7 rate (theoretical arrival time), 8 pause (set on a 429)
-- ARGV: 1 id, 2 token, 3 lease ms, 4 early ms (how early a retry may start),
--       with the flow keys: 5 account, 6 rate interval ms (whole), 7 burst, 8 probe lease ms,
--       9 recheck ms, 10 max deliveries ('' = none);
--       last (whatever comes before): the claiming worker, 'host:pid' (status shows it)
-- Returns {'claimed', envelope, attempts_n, unprocessable_n, reconcile, first_claim_ms,
--   deliveries, now, attempts recorded, breaker clean (0/1), refund fingerprint json or ''},
--   {'parked', wait ms, why} (why 'backlog': a bulk command went to its account's backlog;
--   'held': an operator paused the account, the command waits aside until resumed),
--   {'other_account', account} (nothing changed: gate that one),
--   or {why not, state}.
local WAIT_REASONS = {
  open = 'circuit breaker open for %s',
  probing = 'circuit breaker half-open for %s: waiting for its probe',
  paused = '%s paused after a 429',
  rate = 'rate limit of %s',
}
-- What a command told to wait waits for ('waiting_for'), by why; any other why is a pause.
local WAITING_FOR = {open = 'breaker', probing = 'breaker', rate = 'rate', backlog = 'backlog'}

-- Priority classes: a bulk command (a bulk file's, or one a bulk run replayed: field 'class')
-- never books a slot more than one interval past the account's burst; live ones book any slot.
local function is_bulk(id)
  local class = redis.call('HGET', KEYS[1], 'class')
  if class then return class == 'bulk' end
  return is_bulk_id(id)
end

-- The rate limit, GCRA with reservation: a caller told to wait holds its slot (`reserved`, the
-- slot's time) and goes on it without taking another, unless it comes back stale, more than
-- max(1, burst - 1) intervals past the slot (within the burst's tolerance, so late callers
-- never exceed the limit): then it asks again. Returns the wait (ms) and why ('' when none).
local function rate_limit(now, reserved)
  local interval, burst = tonumber(ARGV[6]), tonumber(ARGV[7])
  if reserved and now <= reserved + math.max(1, burst - 1) * interval then return 0, '' end
  local tat, wait = gcra_peek(KEYS[7], now, interval, burst)
  -- bulk never books far ahead: past one slot it waits in the backlog, holding none
  if wait > interval and is_bulk(ARGV[1]) then return wait, 'backlog' end
  gcra_take(KEYS[7], now, tat, 1, interval)
  if wait > 0 then return wait, 'rate' end
  return 0, ''
end

-- Whether an operator holds the account: its provider or itself paused (no TTL), or resumed
-- but its held commands not all released yet (`draining`), so none overtakes them unless the
-- scheduler released it (release_held.lua marks it `hold` = 'released').
local function operator_held(provider)
  local p = redis.call('HMGET', PAUSED, provider, provider .. ':' .. ARGV[5])
  if p[1] then return true end
  if not p[2] then return false end
  if cjson.decode(p[2])['state'] == 'paused' then return true end
  return redis.call('HGET', KEYS[1], 'hold') ~= 'released'
end

-- Whether the account may be called now: an operator's pause first, then a 429 pause, then
-- the breaker, then the rate limit (`rate_limit`). Returns the wait (ms), why ('' when none),
-- and whether the breaker is clean (closed, no failures): a success there need not be reported.
local function gate(now, reserved, provider)
  if operator_held(provider) then return 0, 'held', false end
  local paused = redis.call('PTTL', KEYS[8])
  if paused > 0 then return paused, 'paused', false end
  local b = redis.call('HMGET', KEYS[6], 'state', 'open_until', 'probe_until', 'failures')
  local clean = b[1] ~= 'open' and tonumber(b[4] or 0) == 0
  local probe = false
  if b[1] == 'open' then
    if now < tonumber(b[2]) then return tonumber(b[2]) - now, 'open', false end
    -- while a probe is out the others look again soon: it may close the breaker any moment
    if b[3] and now < tonumber(b[3]) then
      return math.min(tonumber(b[3]) - now, tonumber(ARGV[9])), 'probing', false
    end
    probe = true
  end
  local wait, why = rate_limit(now, reserved)
  if wait > 0 then return wait, why, clean end  -- a would-be probe waits its turn like anyone
  if probe then redis.call('HSET', KEYS[6], 'probe_until', now + tonumber(ARGV[8])) end
  return 0, '', clean
end

-- Count what the gate said in the minute's chart counters (one HINCRBY): a wait by why (the
-- backlog's too), or a call let through, against the account's interval. The account is
-- 'provider|account' from its rate key (KEYS[7], '...:rate:<provider>:<account>'), so the
-- claim needs no more arguments.
local function count_gated(why)
  local account = string.gsub(string.match(KEYS[7], ':rate:(.*)$'), ':', '|', 1)
  if why ~= '' then return count_minute('wait|' .. account .. '|' .. why) end
  count_minute('call|' .. account .. '|' .. ARGV[6])
end

-- `f`: the record's fields read below (12 created_ms, 13 waiting_for).
local function park(now, wait, why, reconcile, f)
  local due = now + wait
  local message = string.format('waiting %.2f s: ' .. WAIT_REASONS[why], wait / 1000, ARGV[5])
  local waiting_for = WAITING_FOR[why] or 'paused'
  move_index(ARGV[1], f[12], f[1], f[13], 'waiting', waiting_for)
  redis.call('HSET', KEYS[1], 'state', 'waiting', 'waiting_for', waiting_for, 'next_ms', due,
    'deliveries', 0, 'reconcile', reconcile, 'last_message', message, 'updated_ms', now,
    'reserved', why == 'rate' and due or 0)
  redis.call('HDEL', KEYS[1], 'token', 'lease_until')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[4], due, ARGV[1])
  return {'parked', wait, why}
end

-- A bulk command that would wait past one slot waits in its account's backlog instead: no slot,
-- no message, no worker. A dead delivery's re-send keeps the read-before-send it needs.
local function backlog(now, reconcile, f)
  move_index(ARGV[1], f[12], f[1], f[13], 'waiting', 'backlog')
  redis.call('HSET', KEYS[1], 'state', 'waiting', 'waiting_for', 'backlog', 'next_ms', now,
    'deliveries', 0, 'reconcile', reconcile, 'updated_ms', now,
    'last_message', 'waiting its turn in the bulk backlog of ' .. ARGV[5])
  redis.call('HDEL', KEYS[1], 'token', 'lease_until', 'reserved')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  to_backlog(ARGV[1], ARGV[5], redis.call('HGET', KEYS[1], 'seq'))
  return {'parked', 0, 'backlog'}
end

-- A command of an account an operator paused waits aside until resumed: no slot, no worker,
-- no message, no attempt. Live commands wait in the account's held set, bulk ones in its
-- backlog, each by admission sequence; the scheduler releases the held set first, in order,
-- at the account's rate (release_held.lua), then the backlog.
local function hold(now, reconcile, f, provider)
  local waiting_for = is_bulk(ARGV[1]) and 'backlog' or 'paused'
  move_index(ARGV[1], f[12], f[1], f[13], 'waiting', waiting_for)
  redis.call('HSET', KEYS[1], 'state', 'waiting', 'waiting_for', waiting_for, 'next_ms', now,
    'deliveries', 0, 'reconcile', reconcile, 'updated_ms', now, 'hold', 'held',
    'last_message', 'held: ' .. provider .. ':' .. ARGV[5] .. ' paused by an operator')
  redis.call('HDEL', KEYS[1], 'token', 'lease_until', 'reserved')
  for i = 2, 4 do redis.call('ZREM', KEYS[i], ARGV[1]) end
  local seq = redis.call('HGET', KEYS[1], 'seq')
  if waiting_for == 'backlog' then
    to_backlog(ARGV[1], ARGV[5], seq)
  else
    redis.call('ZADD', HELD_PREFIX .. ARGV[5], seq, ARGV[1])
    redis.call('SADD', HELD_ACCOUNTS, ARGV[5])
  end
  return {'parked', 0, 'held'}
end

local f = redis.call('HMGET', KEYS[1], 'state', 'lease_until', 'next_ms', 'deliveries',
  'envelope', 'attempts_n', 'unprocessable_n', 'reconcile', 'first_claim_ms', 'reserved',
  'fingerprint', 'created_ms', 'waiting_for')
local state = f[1]
if not state then  -- lost (evicted, expired): reported once, never handed out again
  for i = 2, 4 do redis.call('ZREM', KEYS[i], ARGV[1]) end
  return {'missing', ''}
end
if is_terminal(state) then return {'finished', state} end
if waits_for(state, f[13]) == 'lane' then return {'not_head', state} end
local now = now_ms()
local reconcile = f[8] or '0'
if state == 'running' then
  if tonumber(f[2]) > now then return {'busy', state} end
  reconcile = '1'  -- the last delivery died holding the lease: it may have reached the provider
elseif state == 'retrying' or (state == 'waiting' and f[13] ~= 'backlog') then
  -- (from the backlog, like a queued one, it goes when its message comes: the gate decides)
  if tonumber(f[3]) > now + tonumber(ARGV[4]) then return {'not_due', state} end
end
local deliveries = tonumber(f[4] or 0) + 1
local breaker_clean = 0
-- past the poison limit the claim skips the gate: the delivery dead-letters without a call
if #KEYS == 8 and (ARGV[10] == '' or deliveries <= tonumber(ARGV[10])) then
  local command = cjson.decode(f[5])['command']
  local account = command['account']
  if account ~= ARGV[5] then return {'other_account', account} end
  -- a duplicate message may find it backlogged: it leaves the backlog, or goes back in below
  if is_bulk_id(ARGV[1]) then redis.call('ZREM', BACKLOG_PREFIX .. account, ARGV[1]) end
  local wait, why, clean = gate(now, tonumber(f[10] or ''), command['provider'])
  count_gated(why)
  if why == 'held' then return hold(now, reconcile, f, command['provider']) end
  if why == 'backlog' then return backlog(now, reconcile, f) end
  if wait > 0 then return park(now, wait, why, reconcile, f) end
  if clean then breaker_clean = 1 end
end
local lease_until = now + tonumber(ARGV[3])
move_index(ARGV[1], f[12], state, f[13], 'running')
redis.call('HSET', KEYS[1], 'state', 'running', 'token', ARGV[2], 'lease_until', lease_until,
  'updated_ms', now, 'deliveries', deliveries, 'reconcile', reconcile,
  'first_claim_ms', f[9] or now, 'worker', ARGV[#ARGV], 'claimed_ms', now)
-- a held slot is good for one delivery (a command released from an operator's hold has one)
if f[10] then redis.call('HDEL', KEYS[1], 'reserved', 'hold') end
redis.call('ZADD', KEYS[2], lease_until, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return {'claimed', f[5], f[6], f[7], reconcile, f[9] or now, deliveries, now,
  redis.call('LLEN', KEYS[5]), breaker_clean, f[11] or ''}
