-- Moves a conversation from one state to another (never to `assigned`: that is a claim), keeping
-- the queue and the agents' chats in line. The caller has checked that the move is legal.
-- With a notice, appends it to the log in the same step (as append.lua does) and publishes it.
-- KEYS: conv, queue, tickets, log
-- ARGV: from, to, queue reason ('' = none), required owner ('' = anyone), now ms, conversation id,
--       key prefix, routing channel, notice body JSON ('' = none), bus channel,
--       resolution ('' = none)
-- Entering `queued` with a reason sets it (a return keeps the one it has); entering `bot` clears reason and resolution; entering
-- `closed` sets the resolution (as conversation/bookkeeping.rs does).
-- Returns: -1 no such conversation, 0 not in `from` (or not that owner's), 1 moved.
local c = KEYS[1]
if redis.call('EXISTS', c) == 0 then return -1 end
if redis.call('HGET', c, 'state') ~= ARGV[1] then return 0 end
local owner = redis.call('HGET', c, 'agent')
if ARGV[4] ~= '' and owner ~= ARGV[4] then return 0 end
local from, to, now, id = ARGV[1], ARGV[2], ARGV[5], ARGV[6]
local ticket = redis.call('HGET', c, 'ticket')
if from == 'bot' and to == 'queued' then
  ticket = redis.call('INCR', KEYS[3])
  redis.call('HSET', c, 'ticket', ticket, 'enqueued_at', now)
elseif from == 'assigned' and to == 'queued' then
  -- Back to its original place in line.
  if not ticket then
    ticket = redis.call('INCR', KEYS[3])
    redis.call('HSET', c, 'ticket', ticket)
  end
  redis.call('HSETNX', c, 'enqueued_at', now)
else
  redis.call('HDEL', c, 'ticket', 'enqueued_at')
end
if to == 'queued' then
  redis.call('ZADD', KEYS[2], ticket, id)
else
  redis.call('ZREM', KEYS[2], id)
end
if owner then redis.call('ZREM', ARGV[7] .. ':agent:' .. owner .. ':chats', id) end
redis.call('HDEL', c, 'agent', 'assigned_at')
redis.call('HSET', c, 'answered', '0', 'state', to, 'updated', now)
if to == 'queued' and ARGV[3] ~= '' then
  -- A return (agent_left, not_answered) keeps why it came and the team it waits for.
  local is_return = ARGV[3] == 'agent_left' or ARGV[3] == 'not_answered'
  if not (is_return and redis.call('HEXISTS', c, 'reason') == 1) then
    redis.call('HSET', c, 'reason', ARGV[3])
  end
elseif to == 'bot' then
  redis.call('HDEL', c, 'reason', 'resolution')
elseif to == 'closed' then
  if ARGV[11] ~= '' then redis.call('HSET', c, 'resolution', ARGV[11]) else redis.call('HDEL', c, 'resolution') end
end
if ARGV[9] ~= '' then
  local seq = redis.call('LLEN', KEYS[4]) + 1
  local event = '{"seq":' .. seq .. ',"at":' .. now .. ',' .. string.sub(ARGV[9], 2)
  redis.call('RPUSH', KEYS[4], event)
  redis.call('HSET', c, 'last_seq', seq)
  redis.call('PUBLISH', ARGV[10], '{"signal":"event",' .. string.sub(event, 2))
end
redis.call('PUBLISH', ARGV[8], '1')
return 1
