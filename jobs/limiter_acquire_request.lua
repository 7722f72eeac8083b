-- Spend one request of the key's rate (a poll or any other call), unless cooling down.
-- KEYS: rate, cooldown, aimd
-- ARGV: now, ceiling, floor
-- Returns {allowed (1/0), retry after seconds, reason}.
local now = tonumber(ARGV[1])
local cooling = cooldown_left(KEYS[2], now)
if cooling > 0 then
  return {0, fmt(cooling), 'cooldown'}
end
local wait, new_tat = gcra(KEYS[1], now, effective_rate(KEYS[3], ARGV[2], ARGV[3]))
if wait > 0 then
  return {0, fmt(wait), 'rate'}
end
redis.call('SET', KEYS[1], fmt(new_tat))
return {1, fmt(0), 'ok'}
