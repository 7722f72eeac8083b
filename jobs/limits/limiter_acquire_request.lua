-- Spend one request of the key's rate (a poll or any other call), unless cooling down.
-- KEYS: requests, cooldown, aimd, stats
-- ARGV: now, ceiling, floor, margin
-- Returns {allowed (1/0), retry after seconds, reason}.
local now, margin = tonumber(ARGV[1]), tonumber(ARGV[4])
local cooling = cooldown_left(KEYS[2], now)
if cooling > 0 then
  return {0, fmt(cooling), 'cooldown'}
end
local rate = effective_rate(KEYS[3], ARGV[2], ARGV[3])
local capacity, window = window_of(rate, tonumber(ARGV[2]), margin)
local wait = rate_wait(KEYS[1], now, capacity, window)
if wait > 0 then
  return {0, fmt(wait), 'rate'}
end
spend(KEYS[1], KEYS[4], now, window)
return {1, fmt(0), 'ok'}
