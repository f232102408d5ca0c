-- Erases one conversation and every trace of it, in one step.
-- KEYS: conv, log, client_ids, queue, followups, conversations index
-- ARGV: conversation id, key prefix, routing channel
-- Returns: 0 no such conversation, 1 erased.
local c = KEYS[1]
if redis.call('EXISTS', c) == 0 then return 0 end
local id, prefix = ARGV[1], ARGV[2]
local agent = redis.call('HGET', c, 'agent')
local visitor = redis.call('HGET', c, 'visitor_key')
local routing = redis.call('ZREM', KEYS[4], id) + redis.call('ZREM', KEYS[5], id)
if agent and agent ~= '' then
  routing = routing + redis.call('ZREM', prefix .. ':agent:' .. agent .. ':chats', id)
end
if visitor and visitor ~= '' then
  redis.call('ZREM', prefix .. ':visitor:' .. visitor, id)
end
redis.call('ZREM', KEYS[6], id)
redis.call('DEL', c, KEYS[2], KEYS[3])
if routing > 0 then redis.call('PUBLISH', ARGV[3], '1') end
return 1
