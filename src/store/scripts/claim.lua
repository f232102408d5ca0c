-- Gives a conversation to an agent: a claim from the queue, or a transfer from another agent.
-- With a notice (who joined), appends it to the log in the same step, as transition.lua does.
-- KEYS: conv, queue, waits, agents, log
-- ARGV: agent, capacity, now ms, conversation id, key prefix, routing channel,
--       from agent ('' = a claim from the queue), how many recent waits to keep,
--       notice body JSON ('' = none), bus channel
-- Returns: -1 no such conversation, 0 gone (not queued / not the from agent's), 1 claimed,
--          2 the agent is at capacity.
local c = KEYS[1]
if redis.call('EXISTS', c) == 0 then return -1 end
local agent, now, id, prefix, from = ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[7]
local state = redis.call('HGET', c, 'state')
if from == '' then
  if state ~= 'queued' then return 0 end
else
  if state ~= 'assigned' or redis.call('HGET', c, 'agent') ~= from then return 0 end
end
local chats = prefix .. ':agent:' .. agent .. ':chats'
if redis.call('ZCARD', chats) >= tonumber(ARGV[2]) then return 2 end
if from == '' then
  redis.call('ZREM', KEYS[2], id)
  local enqueued = tonumber(redis.call('HGET', c, 'enqueued_at') or now)
  redis.call('LPUSH', KEYS[3], tonumber(now) - enqueued)
  redis.call('LTRIM', KEYS[3], 0, tonumber(ARGV[8]) - 1)
else
  redis.call('ZREM', prefix .. ':agent:' .. from .. ':chats', id)
end
redis.call('HSET', c, 'state', 'assigned', 'agent', agent, 'assigned_at', now, 'answered', '0',
  'updated', now)
redis.call('ZADD', chats, now, id)
redis.call('SADD', KEYS[4], agent)
redis.call('HSET', prefix .. ':agent:' .. agent, 'last_assigned', now)
if ARGV[9] ~= '' then
  local seq = redis.call('LLEN', KEYS[5]) + 1
  local event = '{"seq":' .. seq .. ',"at":' .. now .. ',' .. string.sub(ARGV[9], 2)
  redis.call('RPUSH', KEYS[5], event)
  redis.call('HSET', c, 'last_seq', seq)
  redis.call('PUBLISH', ARGV[10], '{"signal":"event",' .. string.sub(event, 2))
end
redis.call('PUBLISH', ARGV[6], '1')
return 1
