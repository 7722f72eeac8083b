-- A 429/455 from the provider: cool the key down and, unless the provider told its limit,
-- cut the effective rate multiplicatively (once per cooldown, however many workers saw it).
-- KEYS: cooldown, aimd
-- ARGV: now, ceiling, floor, retry after ('' if none), reported rate ('' if none),
--       backoff base, backoff cap, decrease factor, reason
-- Returns the new effective rate.
local now = tonumber(ARGV[1])
local ceiling, floor = tonumber(ARGV[2]), tonumber(ARGV[3])
local streak = redis.call('HINCRBY', KEYS[2], 'streak', 1)
local wait = tonumber(ARGV[4])
if not wait then
  wait = math.min(tonumber(ARGV[6]) * 2 ^ (streak - 1), tonumber(ARGV[7]))
end
local rate = effective_rate(KEYS[2], ceiling, floor)
local reported = tonumber(ARGV[5])
if reported then
  rate = math.max(math.min(reported, ceiling), floor)
elseif now >= tonumber(redis.call('HGET', KEYS[2], 'cut_until') or '0') then
  rate = math.max(rate * tonumber(ARGV[8]), floor)
  redis.call('HSET', KEYS[2], 'cut_until', fmt(now + math.max(wait, 1)))
end
redis.call('HSET', KEYS[2], 'rate', fmt(rate))
local until_at = now + wait
if until_at > tonumber(redis.call('HGET', KEYS[1], 'until') or '0') then
  redis.call('HSET', KEYS[1], 'until', fmt(until_at), 'reason', ARGV[9])
end
return fmt(rate)
