-- Create one job unless its id exists: the record, its state index, its batch's indexes.
-- KEYS: job, state index, batch jobs, batch counts, batches
-- ARGV: id, state, version, json, score, batch, ttl (0: none)
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 's', ARGV[2], 'v', ARGV[3], 'j', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
redis.call('ZADD', KEYS[5], 'NX', ARGV[5], ARGV[6])
if tonumber(ARGV[7]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[7])
else
  redis.call('PERSIST', KEYS[3])
  redis.call('PERSIST', KEYS[4])
end
return 1
