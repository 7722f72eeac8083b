-- A call that went through: raise the effective rate additively, up to the ceiling.
-- KEYS: aimd
-- ARGV: ceiling, floor, step (requests/s)
-- Returns {rate before, rate after}.
local ceiling = tonumber(ARGV[1])
local before = effective_rate(KEYS[1], ARGV[1], ARGV[2])
local rate = math.min(before + tonumber(ARGV[3]), ceiling)
redis.call('HSET', KEYS[1], 'rate', fmt(rate), 'streak', 0)
return {fmt(before), fmt(rate)}
