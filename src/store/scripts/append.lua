-- Appends one event: the next seq, the log, the conversation's bookkeeping, the fan-out.
-- KEYS: conv, log, client_ids, followups
-- ARGV: body JSON (an object starting with `{"kind":`), now ms, client_id ('' = none),
--       bus channel, routing channel, conversation id, required owner ('' = anyone: the event
--       is stored only while this agent owns the conversation)
-- Returns: -1 no such conversation; -2 not owned by the required agent;
--          {0, seq} duplicate client_id; {1, seq, event JSON} appended.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
-- A resend of a stored message is a duplicate even after the chat moved on: it was stored.
if ARGV[3] ~= '' then
  local seen = redis.call('HGET', KEYS[3], ARGV[3])
  if seen then return {0, tonumber(seen)} end
end
if ARGV[7] ~= '' then
  if redis.call('HGET', KEYS[1], 'state') ~= 'assigned' or redis.call('HGET', KEYS[1], 'agent') ~= ARGV[7] then
    return -2
  end
end
local seq = redis.call('LLEN', KEYS[2]) + 1
local event = '{"seq":' .. seq .. ',"at":' .. ARGV[2] .. ',' .. string.sub(ARGV[1], 2)
redis.call('RPUSH', KEYS[2], event)
redis.call('HSET', KEYS[1], 'last_seq', seq, 'updated', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[3], ARGV[3], seq) end
local kind = string.match(ARGV[1], '^{"kind":"([a-z_]+)"')
if kind == 'agent_message' then redis.call('HSET', KEYS[1], 'answered', '1') end
if kind == 'offline_message' then
  redis.call('HSET', KEYS[1], 'follow_up', '1')
  redis.call('ZADD', KEYS[4], 'NX', ARGV[2], ARGV[6])
  redis.call('PUBLISH', ARGV[5], '1')
end
redis.call('PUBLISH', ARGV[4], '{"signal":"event",' .. string.sub(event, 2))
return {1, seq, event}
