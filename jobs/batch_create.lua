-- Create a batch record once, with its place in the listing and its budget limit.
-- KEYS: record, records index, budget
-- ARGV: json, score, name, limit in micro-dollars ('' for none)
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[3], 'limit', ARGV[4])
end
return 1
