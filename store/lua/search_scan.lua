-- Walk one sorted-set index newest first (or oldest first) from a cursor, keeping the ids that
-- every other given index also holds (one ZSCORE each: no record is read or decoded).
-- KEYS: 1 the index walked, 2.. the indexes a match must also be in
-- ARGV: 1 score the walk starts from (max; min when ascending), 2 score it ends at, 3 cursor
--       id ('' = start at ARGV[1]), 4 limit, 5 budget (entries to examine at most), 6 command
--       key prefix, 7 admitted from ms, 8 admitted to ms ('' = any; when either is set, KEYS[2]
--       is scored by admission time and is checked), 9 'asc' to walk oldest first
-- Returns: {examined, next score or '', next id or '', id...}; no next score = index exhausted.
-- A match whose record is gone (it expired before trim unindexed it) is dropped from KEYS[1].
local start, stop, after = ARGV[1], ARGV[2], ARGV[3]
local limit, budget, prefix = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local from_ms, to_ms = tonumber(ARGV[7]), tonumber(ARGV[8])
local asc = ARGV[9] == 'asc'
local walk = asc and 'ZRANGEBYSCORE' or 'ZREVRANGEBYSCORE'
local gone = {}

local function admitted_in_range(score)
  local t = tonumber(score)
  return not ((from_ms and t < from_ms) or (to_ms and t > to_ms))
end

local function matches(id)
  for i = 2, #KEYS do
    local score = redis.call('ZSCORE', KEYS[i], id)
    if not score then return false end
    if i == 2 and (from_ms or to_ms) and not admitted_in_range(score) then return false end
  end
  if redis.call('EXISTS', prefix .. id) == 0 then
    table.insert(gone, id)
    return false
  end
  return true
end

local found, examined, offset, chunk = {}, 0, 0, 256
local last_score, exhausted = nil, false
while #found < limit and examined < budget do
  local batch = redis.call(walk, KEYS[1], start, stop, 'WITHSCORES', 'LIMIT', offset, chunk)
  local fresh = 0
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    -- equal scores come in walk order of members: ids up to the cursor were already seen
    local seen = after ~= '' and tonumber(score) == tonumber(start)
      and ((not asc and id >= after) or (asc and id <= after))
    if not seen then
      fresh = fresh + 1
      examined = examined + 1
      if matches(id) then table.insert(found, id) end
      start, after, last_score = score, id, score
      if #found >= limit or examined >= budget then break end
    end
  end
  if #batch < chunk * 2 and (#found < limit and examined < budget) then
    exhausted = true
    break
  end
  if fresh == 0 then offset = offset + chunk else offset = 0 end
end
-- removed after the walk, so the offsets above stay right
for _, id in ipairs(gone) do redis.call('ZREM', KEYS[1], id) end
local out = {examined, '', ''}
if not exhausted and last_score then out[2], out[3] = last_score, after end
for _, id in ipairs(found) do table.insert(out, id) end
return out
