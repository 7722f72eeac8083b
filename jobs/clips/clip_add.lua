-- Create one clip unless its id exists: the record and its place in its batch.
-- KEYS: clip, batch clips
-- ARGV: id, state, version, json
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 's', ARGV[2], 'v', ARGV[3], 'j', ARGV[4], 'n', 0)
redis.call('SADD', KEYS[2], ARGV[1])
return 1
