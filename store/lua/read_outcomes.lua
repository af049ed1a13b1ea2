-- The outcome events after id ARGV[1] (at most ARGV[2] of them), each as one JSON object of its
-- fields, and what the stream's bound trimmed: a reader parses one string an event instead of
-- its thirty (a webhook delivery's read cost more of the worker than its POST).
-- KEYS: 1 the outcome stream. ARGV: 1 the id read after, 2 the most events to return.
-- Returns {first entry id, entries ever added, length, id, json, id, json, ...}; the first three
-- are '' when there is no event after ARGV[1] (no question of loss then) or no stream.
local out = {'', '', ''}
local read = redis.call('XREAD', 'COUNT', ARGV[2], 'STREAMS', KEYS[1], ARGV[1])
if not read then return out end
local info = redis.pcall('XINFO', 'STREAM', KEYS[1])
if not info.err then
  for i = 1, #info, 2 do
    local name, value = info[i], info[i + 1]
    if name == 'first-entry' and value then out[1] = value[1]
    elseif name == 'entries-added' then out[2] = tostring(value)
    elseif name == 'length' then out[3] = tostring(value) end
  end
end
for _, entry in ipairs(read[1][2]) do
  local fields, flat = {}, entry[2]
  for i = 1, #flat, 2 do fields[flat[i]] = flat[i + 1] end
  out[#out + 1] = entry[1]
  out[#out + 1] = cjson.encode(fields)
end
return out
