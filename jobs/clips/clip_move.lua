-- Compare-and-set one clip: write only if its version is the one the caller read.
-- KEYS: clip, clip stored set
-- ARGV: expected version, new state, new version, json, segments ('' keeps it),
--       reopen ('1': forget the stitch claim, for a retry), ttl (a finished clip's record
--       lifetime in seconds; '0' while it is unfinished)
-- Returns 1 written, 0 version differs, -1 no such clip.
local version = redis.call('HGET', KEYS[1], 'v')
if not version then
  return -1
end
if version ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 's', ARGV[2], 'v', ARGV[3], 'j', ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'n', ARGV[5])
end
if ARGV[6] == '1' then
  redis.call('HDEL', KEYS[1], 'stitch')
end
if tonumber(ARGV[7]) > 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('EXPIRE', KEYS[2], ARGV[7])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
end
return 1
