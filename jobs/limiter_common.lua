-- Shared by the limiter scripts: effective rate (AIMD), GCRA arithmetic, cooldown, lease reaping.
-- Times are seconds passed in by the caller (never Redis TIME), so tests control the clock.

local function fmt(x)
  return string.format('%.6f', x)
end

local function effective_rate(aimd_key, ceiling, floor)
  ceiling, floor = tonumber(ceiling), tonumber(floor)
  local rate = tonumber(redis.call('HGET', aimd_key, 'rate') or '') or ceiling
  return math.max(math.min(rate, ceiling), floor)
end

-- GCRA with a bucket of one second's worth of requests (at least one): returns how long the
-- caller must wait (0: allowed now) and the theoretical arrival time to store when it goes.
local function gcra(rate_key, now, rate)
  local interval = 1 / rate
  local depth = math.max(1, math.floor(rate)) * interval
  local tat = math.max(tonumber(redis.call('GET', rate_key) or '') or now, now)
  local new_tat = tat + interval
  return math.max(new_tat - depth - now, 0), new_tat
end

local function cooldown_left(cooldown_key, now)
  local until_at = tonumber(redis.call('HGET', cooldown_key, 'until') or '0')
  return math.max(until_at - now, 0)
end

-- Leases whose holder stopped renewing them (a dead worker) free their slot here.
local function reap(slots_key, started_key, now)
  local expired = redis.call('ZRANGEBYSCORE', slots_key, '-inf', now)
  for _, holder in ipairs(expired) do
    redis.call('ZREM', started_key, holder)
  end
  if #expired > 0 then
    redis.call('ZREMRANGEBYSCORE', slots_key, '-inf', now)
  end
end
