-- Shared by every ordercmd script: Redis time and releasing an order lane.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- How long a command's message may go unclaimed before it is sent again. Bulk commands (ids
-- starting 'b-', see worker/queues.py) wait behind long backlogs, so they get a longer guard.
local function guard_for(id, guard_ms, bulk_guard_ms)
  if string.sub(id, 1, 2) == 'b-' then return bulk_guard_ms end
  return guard_ms
end

-- Drop `id` from its lane; if the next command was waiting behind it, queue it for dispatch.
local function release_lane(lane_key, id, cmd_prefix, dispatch_key, now, guard_ms, bulk_guard_ms)
  redis.call('LREM', lane_key, 1, id)
  local nxt = redis.call('LINDEX', lane_key, 0)
  if nxt then
    local key = cmd_prefix .. nxt
    if redis.call('HGET', key, 'state') == 'waiting' then
      redis.call('HSET', key, 'state', 'queued', 'updated_ms', now)
      redis.call('ZADD', dispatch_key, now + guard_for(nxt, guard_ms, bulk_guard_ms or guard_ms), nxt)
      return nxt
    end
  end
  return ''
end

local function is_terminal(state)
  return state == 'succeeded' or state == 'already_done' or state == 'dead' or state == 'discarded'
end

local LATENCY_BUCKETS = {100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000,
  3600000}

local function bucket(ms)
  for _, le in ipairs(LATENCY_BUCKETS) do
    if ms <= le then return tostring(le) end
  end
  return '+Inf'
end

-- Count an outcome in the all-time stats hash and in the hash of the current hour.
local function count_outcome(stats_key, hour_prefix, now, fields)
  local hour_key = hour_prefix .. math.floor(now / 3600000)
  for _, field in ipairs(fields) do redis.call('HINCRBY', stats_key, field, 1) end
  redis.call('HINCRBY', hour_key, fields[1], 1)
  redis.call('EXPIRE', hour_key, 93600)
end
