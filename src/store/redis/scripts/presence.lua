-- Sets an agent's presence with a heartbeat TTL; tells routers only when it changed.
-- KEYS: agents, agent, agent alive
-- ARGV: agent id, presence, ttl ms, routing channel
local was = 'offline'
if redis.call('EXISTS', KEYS[3]) == 1 then
  was = redis.call('HGET', KEYS[2], 'presence') or 'offline'
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'presence', ARGV[2])
redis.call('SET', KEYS[3], '1', 'PX', ARGV[3])
if was ~= ARGV[2] then redis.call('PUBLISH', ARGV[4], '1') end
return 1
