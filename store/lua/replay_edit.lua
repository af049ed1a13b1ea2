-- Replay a dead letter with an edited command (same key, same lane); old and new are audited.
-- Mirrors replay.lua, and also replaces the envelope, keeping the first one as 'original'.
-- KEYS: 1 command, 2 dead letters, 3 by reason, 4 by provider, 5 lane, 6 dispatch, 7 audit,
--       8 outcome stream
-- ARGV: 1 id, 2 guard ms, 3 expected dead reason, 4 actor, 5 why, 6 expected envelope json,
--       7 new envelope json, 8 old command json, 9 new command json,
--       10 outcome stream max length
local f = redis.call('HMGET', KEYS[1], 'state', 'dead_reason', 'envelope')
if f[1] ~= 'dead' or f[2] ~= ARGV[3] then return {'not_dead', f[1] or 'missing'} end
if f[3] ~= ARGV[6] then return {'changed', f[1]} end
local now = now_ms()
local state = requeue_dead(ARGV[1], ARGV[2], now)
redis.call('HSETNX', KEYS[1], 'original_envelope', f[3])
redis.call('HSET', KEYS[1], 'envelope', ARGV[7], 'state', state, 'waiting_for', 'lane',
  'attempts_n', 0, 'unprocessable_n', 0, 'deliveries', 0, 'reconcile', 1, 'updated_ms', now,
  'last_message', 'edited and replayed: ' .. ARGV[5], 'class', 'live')  -- an operator's: live
revive(KEYS[1])
redis.call('HINCRBY', KEYS[1], 'edits', 1)
redis.call('XADD', KEYS[7], '*', 'action', 'edit_replay', 'command_id', ARGV[1], 'actor', ARGV[4],
  'why', ARGV[5], 'at_ms', now, 'old', ARGV[8], 'new', ARGV[9])
emit_outcome(KEYS[8], ARGV[10], KEYS[1], ARGV[1], 'edited', ARGV[3])
return {'ok', state}
