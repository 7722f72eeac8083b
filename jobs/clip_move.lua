-- Compare-and-set one clip: write only if its version is the one the caller read.
-- KEYS: clip
-- ARGV: expected version, new state, new version, json, segments ('' keeps it),
--       reopen ('1': forget the stitch claim, for a retry)
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
return 1
