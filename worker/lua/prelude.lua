-- Shared by every ordercmd script: Redis time and releasing an order lane.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Drop `id` from its lane; if the next command was waiting behind it, queue it for dispatch.
local function release_lane(lane_key, id, cmd_prefix, dispatch_key, now, guard_ms)
  redis.call('LREM', lane_key, 1, id)
  local nxt = redis.call('LINDEX', lane_key, 0)
  if nxt then
    local key = cmd_prefix .. nxt
    if redis.call('HGET', key, 'state') == 'waiting' then
      redis.call('HSET', key, 'state', 'queued', 'updated_ms', now)
      redis.call('ZADD', dispatch_key, now + guard_ms, nxt)
      return nxt
    end
  end
  return ''
end

local function is_terminal(state)
  return state == 'succeeded' or state == 'already_done' or state == 'dead' or state == 'discarded'
end
