-- Leases the due mails: KEYS = the due set; ARGV = now, the lease's end, how many. Each taken
-- mail's due time becomes the lease's end, in the same step, so no other worker takes it.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, key in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], key)
end
return due
