-- Give a slot back and learn how long the key's remote jobs hold one (a moving average).
-- KEYS: slots, started, stats
-- ARGV: holder, now, weight of the newest observation
local started = tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]) or '')
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if started then
  local hold = math.max(tonumber(ARGV[2]) - started, 0)
  local average = tonumber(redis.call('HGET', KEYS[3], 'avg_hold') or '')
  local weight = tonumber(ARGV[3])
  if average then
    hold = average * (1 - weight) + hold * weight
  end
  redis.call('HSET', KEYS[3], 'avg_hold', fmt(hold))
end
return 1
