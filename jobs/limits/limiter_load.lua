-- Read-only: what choosing a key, or spacing polls, needs to know of each of several keys, in
-- one round trip. It writes nothing (no reaping, no pruning of the request log): it reads what
-- `LimiterState.cooldown_remaining`, `in_flight`, `parked` and `rate_pressure` read, with the
-- same arithmetic, so the answers are those of the separate reads at one instant.
-- KEYS: per key, 5 in a row: cooldown, slots, stats, aimd, requests
-- ARGV: now, margin, then per key 2 in a row: ceiling, floor
-- Returns per key 5 in a row: cooldown until (raw, '' when none), live leases, parked (raw,
-- '' when none), requests in the window, window capacity.
local now, margin = tonumber(ARGV[1]), tonumber(ARGV[2])
local live = string.format('(%.17g', now)
local out = {}
for i = 0, #KEYS / 5 - 1 do
  local k, a = i * 5, 2 + i * 2
  local rate = effective_rate(KEYS[k + 4], ARGV[a + 1], ARGV[a + 2])
  local capacity, window = window_of(rate, tonumber(ARGV[a + 1]), margin)
  local since = string.format('(%.17g', now - window)
  out[#out + 1] = redis.call('HGET', KEYS[k + 1], 'until') or ''
  out[#out + 1] = redis.call('ZCOUNT', KEYS[k + 2], live, '+inf')
  out[#out + 1] = redis.call('HGET', KEYS[k + 3], 'parked') or ''
  out[#out + 1] = redis.call('ZCOUNT', KEYS[k + 5], since, '+inf')
  out[#out + 1] = capacity
end
return out
