-- One turn (see conversation/turn.rs): the visitor's item whatever the state; the bot's items,
-- its memory and a handoff (Bot -> Queued with the queued notice) only while the conversation is
-- `bot`; nothing at all when the log no longer ends at the expected seq.
-- KEYS: conv, log, client_ids, queue, tickets
-- ARGV: now ms, client key ('' = none), visitor body JSON ('' = none), expected seq ('' = any),
--       memory JSON ('' = keep), handoff reason ('' = none), queued notice body JSON,
--       bus channel, routing channel, conversation id, then one bot item body JSON per argument
-- Returns: -1 no such conversation; {0, seq} duplicate client key; {2} conflict;
--          {1, bot answered 0|1, handed off 0|1, event JSON...} stored.
local c = KEYS[1]
if redis.call('EXISTS', c) == 0 then return -1 end
local now = ARGV[1]
if ARGV[2] ~= '' then
  local seen = redis.call('HGET', KEYS[3], ARGV[2])
  -- Visitors' keys were stored without their `visitor:` namespace before it existed (agents'
  -- always had `agent:`): a resend across the upgrade finds the old one.
  local legacy = string.sub(ARGV[2], 9)
  if not seen and string.sub(ARGV[2], 1, 8) == 'visitor:' and string.sub(legacy, 1, 6) ~= 'agent:' then
    seen = redis.call('HGET', KEYS[3], legacy)
  end
  if seen then return {0, tonumber(seen)} end
end
local seq = redis.call('LLEN', KEYS[2])
if ARGV[4] ~= '' and seq ~= tonumber(ARGV[4]) then return {2} end
local out = {1, 0, 0}
local function push(body)
  seq = seq + 1
  local event = '{"seq":' .. seq .. ',"at":' .. now .. ',' .. string.sub(body, 2)
  redis.call('RPUSH', KEYS[2], event)
  redis.call('PUBLISH', ARGV[8], '{"signal":"event",' .. string.sub(event, 2))
  table.insert(out, event)
end
if ARGV[3] ~= '' then
  push(ARGV[3])
  if ARGV[2] ~= '' then redis.call('HSET', KEYS[3], ARGV[2], seq) end
end
if redis.call('HGET', c, 'state') == 'bot' then
  out[2] = 1
  for i = 11, #ARGV do push(ARGV[i]) end
  if ARGV[5] ~= '' then redis.call('HSET', c, 'memory', ARGV[5]) end
  if ARGV[6] ~= '' then
    local ticket = redis.call('INCR', KEYS[5])
    redis.call('HSET', c, 'state', 'queued', 'reason', ARGV[6], 'ticket', ticket,
      'enqueued_at', now, 'answered', '0')
    redis.call('HDEL', c, 'agent', 'assigned_at')
    redis.call('ZADD', KEYS[4], ticket, ARGV[10])
    push(ARGV[7])
    out[3] = 1
    redis.call('PUBLISH', ARGV[9], '1')
  end
end
redis.call('HSET', c, 'last_seq', seq, 'updated', now)
return out
