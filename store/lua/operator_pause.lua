-- An operator pauses or resumes a whole provider or one of its accounts, audited in the same
-- step. A pause has no TTL: it lasts until resumed. Resuming an account whose held set is not
-- empty marks it `draining`, so newer commands queue behind the held ones until the scheduler
-- has released them all (release_held.lua); a provider's resume does so for each account named.
-- KEYS: 1 paused hash, 2 audit stream
-- ARGV: 1 'pause' or 'resume', 2 target ('provider' or 'provider:account'), 3 actor, 4 why,
--       5 the pause as JSON (pause; its since_ms is set here), then (resume) the provider's
--       accounts whose held sets to look at ('provider:account' each)
-- Returns {'paused' | 'resumed' | 'not_paused', commands held now for the target}.
local now = now_ms()
local action, target = ARGV[1], ARGV[2]

local function held_of(field)
  local account = string.match(field, ':(.*)$')
  return redis.call('ZCARD', HELD_PREFIX .. account)
end

-- Resumed, `field` keeps its held commands ahead of newer ones until they are all out.
local function drain(field)
  if held_of(field) > 0 then
    redis.call('HSET', KEYS[1], field, cjson.encode({state = 'draining', since_ms = now}))
  end
end

local function held_total()
  local n = 0
  for i = 6, #ARGV do n = n + held_of(ARGV[i]) end
  return n
end

local function audit()
  redis.call('XADD', KEYS[2], '*', 'action', action, 'command_id', '', 'target', target,
    'actor', ARGV[3], 'why', ARGV[4], 'at_ms', now)
end

if action == 'pause' then
  local pause = cjson.decode(ARGV[5])
  pause['since_ms'] = now
  redis.call('HSET', KEYS[1], target, cjson.encode(pause))
  audit()
  return {'paused', held_total()}
end
local current = redis.call('HGET', KEYS[1], target)
if not current or cjson.decode(current)['state'] ~= 'paused' then
  return {'not_paused', held_total()}
end
redis.call('HDEL', KEYS[1], target)
for i = 6, #ARGV do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then drain(ARGV[i]) end
end
audit()
return {'resumed', held_total()}
