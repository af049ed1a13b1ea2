-- Claim a command for one delivery under a lease; duplicates and stale messages are no-ops.
-- With its account's flow keys, the claim also gates the call: when a 429 pause, an open
-- circuit breaker or the rate limit says wait, the command is parked in the retry schedule
-- instead, in the same step (the wait spends no attempt and holds no worker slot).
-- KEYS: 1 command, 2 running, 3 dispatch, 4 schedule, 5 attempts,
--       optional 6 breaker hash, 7 rate (theoretical arrival time), 8 pause (set on a 429)
-- ARGV: 1 id, 2 token, 3 lease ms, 4 early ms (how early a retry may start),
--       with the flow keys: 5 account, 6 rate interval ms (whole), 7 burst, 8 probe lease ms,
--       9 recheck ms, 10 max deliveries ('' = none);
--       last (whatever comes before): the claiming worker, 'host:pid' (status shows it)
-- Returns {'claimed', envelope, attempts_n, unprocessable_n, reconcile, first_claim_ms,
--   deliveries, now, attempts recorded, breaker clean (0/1), refund fingerprint json or ''},
--   {'parked', wait ms, why}, {'other_account', account} (nothing changed: gate that one),
--   or {why not, state}.
local WAIT_REASONS = {
  open = 'circuit breaker open for %s',
  probing = 'circuit breaker half-open for %s: waiting for its probe',
  paused = '%s paused after a 429',
  rate = 'rate limit of %s',
}

-- Whether the account may be called now: a 429 pause first, then the breaker, then the rate
-- limit, GCRA with reservation: a caller told to wait holds its slot, and goes without taking
-- another when it comes back `reserved`. Returns the wait (ms), why ('' when none), and whether
-- the breaker is clean (closed, no failures): a success there need not be reported.
local function gate(now, reserved)
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
  if not reserved then
    local interval = tonumber(ARGV[6])
    local tat = math.max(tonumber(redis.call('GET', KEYS[7]) or now), now)
    local wait = tat - now - (tonumber(ARGV[7]) - 1) * interval
    redis.call('SET', KEYS[7], tat + interval, 'PX', tat + interval - now + 1000)
    if wait > 0 then return wait, 'rate', clean end  -- a would-be probe waits its turn like anyone
  end
  if probe then redis.call('HSET', KEYS[6], 'probe_until', now + tonumber(ARGV[8])) end
  return 0, '', clean
end

local function park(now, wait, why, reconcile)
  local due = now + wait
  local message = string.format('waiting %.2f s: ' .. WAIT_REASONS[why], wait / 1000, ARGV[5])
  index_state(KEYS[1], ARGV[1], 'retrying')
  redis.call('HSET', KEYS[1], 'state', 'retrying', 'next_ms', due, 'deliveries', 0,
    'reconcile', reconcile, 'last_message', message, 'updated_ms', now,
    'reserved', why == 'rate' and 1 or 0)
  redis.call('HDEL', KEYS[1], 'token', 'lease_until')
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[4], due, ARGV[1])
  return {'parked', wait, why}
end

local f = redis.call('HMGET', KEYS[1], 'state', 'lease_until', 'next_ms', 'deliveries',
  'envelope', 'attempts_n', 'unprocessable_n', 'reconcile', 'first_claim_ms', 'reserved',
  'fingerprint')
local state = f[1]
if not state then return {'missing', ''} end
if is_terminal(state) then return {'finished', state} end
if state == 'waiting' then return {'not_head', state} end
local now = now_ms()
local reconcile = f[8] or '0'
if state == 'running' then
  if tonumber(f[2]) > now then return {'busy', state} end
  reconcile = '1'  -- the last delivery died holding the lease: it may have reached the provider
elseif state == 'retrying' then
  if tonumber(f[3]) > now + tonumber(ARGV[4]) then return {'not_due', state} end
end
local deliveries = tonumber(f[4] or 0) + 1
local breaker_clean = 0
-- past the poison limit the claim skips the gate: the delivery dead-letters without a call
if #KEYS == 8 and (ARGV[10] == '' or deliveries <= tonumber(ARGV[10])) then
  local account = cjson.decode(f[5])['command']['account']
  if account ~= ARGV[5] then return {'other_account', account} end
  local wait, why, clean = gate(now, f[10] == '1')
  if wait > 0 then return park(now, wait, why, reconcile) end
  if clean then breaker_clean = 1 end
end
local lease_until = now + tonumber(ARGV[3])
index_state(KEYS[1], ARGV[1], 'running')
redis.call('HSET', KEYS[1], 'state', 'running', 'token', ARGV[2], 'lease_until', lease_until,
  'updated_ms', now, 'deliveries', deliveries, 'reconcile', reconcile,
  'first_claim_ms', f[9] or now, 'worker', ARGV[#ARGV], 'claimed_ms', now)
if f[10] then redis.call('HDEL', KEYS[1], 'reserved') end  -- a held slot is good for one delivery
redis.call('ZADD', KEYS[2], lease_until, ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return {'claimed', f[5], f[6], f[7], reconcile, f[9] or now, deliveries, now,
  redis.call('LLEN', KEYS[5]), breaker_clean, f[11] or ''}
