-- Queues a mail unless its key is known: KEYS = the outbox hash, the due set, the order set;
-- ARGV = key, record, now, due. Returns 1 when queued, 0 when the key was there.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
