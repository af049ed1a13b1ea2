-- Walk one sorted-set index newest first from a cursor, keeping the commands that match.
-- KEYS: 1 the index (recent, dead letters, schedule...)
-- ARGV: 1 max score, 2 min score, 3 cursor id ('' = start at max), 4 limit, 5 budget (entries
--       to examine at most), 6 command key prefix, 7 provider, 8 account, 9 kind, 10 state,
--       11 reason, 12 admitted from ms, 13 admitted to ms ('' = any, for every filter)
-- Returns: {examined, next score or '', next id or '', id...}; no next score = index exhausted.
local max, min, after = ARGV[1], ARGV[2], ARGV[3]
local limit, budget, prefix = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local from_ms, to_ms = tonumber(ARGV[12]), tonumber(ARGV[13])
local by_envelope = ARGV[7] ~= '' or ARGV[8] ~= '' or ARGV[9] ~= ''

local function matches(id)
  local f = redis.call('HMGET', prefix .. id, 'state', 'dead_reason', 'created_ms', 'envelope')
  if not f[1] then return false end
  if ARGV[10] ~= '' and f[1] ~= ARGV[10] then return false end
  if ARGV[11] ~= '' and f[2] ~= ARGV[11] then return false end
  local created = tonumber(f[3])
  if (from_ms and created < from_ms) or (to_ms and created > to_ms) then return false end
  if by_envelope then
    local c = cjson.decode(f[4])['command']
    if ARGV[7] ~= '' and c['provider'] ~= ARGV[7] then return false end
    if ARGV[8] ~= '' and c['account'] ~= ARGV[8] then return false end
    if ARGV[9] ~= '' and c['kind'] ~= ARGV[9] then return false end
  end
  return true
end

local found, examined, offset, chunk = {}, 0, 0, 256
local last_score, exhausted = nil, false
while #found < limit and examined < budget do
  local batch = redis.call('ZREVRANGEBYSCORE', KEYS[1], max, min, 'WITHSCORES', 'LIMIT', offset,
    chunk)
  local fresh = 0
  for i = 1, #batch, 2 do
    local id, score = batch[i], batch[i + 1]
    -- equal scores come in descending member order: ids >= the cursor were already seen
    if not (after ~= '' and tonumber(score) == tonumber(max) and id >= after) then
      fresh = fresh + 1
      examined = examined + 1
      if matches(id) then table.insert(found, id) end
      max, after, last_score = score, id, score
      if #found >= limit or examined >= budget then break end
    end
  end
  if #batch < chunk * 2 and (#found < limit and examined < budget) then
    exhausted = true
    break
  end
  if fresh == 0 then offset = offset + chunk else offset = 0 end
end
local out = {examined, '', ''}
if not exhausted and last_score then out[2], out[3] = last_score, after end
for _, id in ipairs(found) do table.insert(out, id) end
return out
