-- Compare-and-set one job: write the new record only if state and version are as expected,
-- then move it between state indexes and batch counts and set or clear its expiry.
-- KEYS: job, old state index, new state index, batch jobs, batch counts
--       [, clip stored set, clip, clip watch: only when a clip's segment moves to STORED]
-- ARGV: id, expected state, expected version, new state, new version, json, score,
--       ttl, terminal ('1'/'0'), prune before (score), active states...
-- Returns 1 written, 0 state or version differ, -1 no such job, 2 written and this write
-- stored the clip's last segment: the caller, and no one else, schedules the stitch. The clip
-- goes on the watch list in the same write, so a caller killed before it sends the stitch
-- leaves it to the reconciler.
local current = redis.call('HMGET', KEYS[1], 's', 'v')
if not current[1] then
  return -1
end
if current[1] ~= ARGV[2] or current[2] ~= ARGV[3] then
  return 0
end
redis.call('HSET', KEYS[1], 's', ARGV[4], 'v', ARGV[5], 'j', ARGV[6])
if ARGV[2] ~= ARGV[4] then
  redis.call('ZREM', KEYS[2], ARGV[1])
  if tonumber(redis.call('HGET', KEYS[5], ARGV[2]) or '0') > 0 then
    redis.call('HINCRBY', KEYS[5], ARGV[2], -1)
  end
  redis.call('HINCRBY', KEYS[5], ARGV[4], 1)
end
redis.call('ZADD', KEYS[3], ARGV[7], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
local written = 1
if KEYS[7] and ARGV[4] == 'STORED' then
  redis.call('SADD', KEYS[6], ARGV[1])
  local segments = tonumber(redis.call('HGET', KEYS[7], 'n') or '0')
  if segments > 0 and redis.call('SCARD', KEYS[6]) >= segments
      and redis.call('HSETNX', KEYS[7], 'stitch', ARGV[7]) == 1 then
    redis.call('ZADD', KEYS[8], ARGV[7], string.match(KEYS[7], '[^:]+$'))
    written = 2
  end
end
if ARGV[9] ~= '1' then
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[4])
  redis.call('PERSIST', KEYS[5])
  return 1
end
redis.call('EXPIRE', KEYS[1], ARGV[8])
-- Finished records expire; their index entries go once older than the record's lifetime.
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[10])
local active = 0
for i = 11, #ARGV do
  active = active + tonumber(redis.call('HGET', KEYS[5], ARGV[i]) or '0')
end
if active == 0 then
  redis.call('EXPIRE', KEYS[4], ARGV[8])
  redis.call('EXPIRE', KEYS[5], ARGV[8])
end
return written
