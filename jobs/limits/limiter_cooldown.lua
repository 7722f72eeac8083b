-- Extend the key's cooldown to now + seconds (never shorten it).
-- KEYS: cooldown
-- ARGV: now, seconds, reason
local until_at = tonumber(ARGV[1]) + tonumber(ARGV[2])
if until_at > tonumber(redis.call('HGET', KEYS[1], 'until') or '0') then
  redis.call('HSET', KEYS[1], 'until', fmt(until_at), 'reason', ARGV[3])
end
return 1
