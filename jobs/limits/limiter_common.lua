-- Shared by the limiter scripts: effective rate (AIMD), the request window, cooldown, leases,
-- and the parked holders. Times are seconds passed in by the caller (never Redis TIME), so
-- tests control the clock. Parked holders of one batch live in the key named by the caller's
-- prefix plus the batch name (the one key not declared up front: restyle runs on one Redis).

local function fmt(x)
  return string.format('%.6f', x)
end

local function effective_rate(aimd_key, ceiling, floor)
  ceiling, floor = tonumber(ceiling), tonumber(floor)
  local rate = tonumber(redis.call('HGET', aimd_key, 'rate') or '') or ceiling
  return math.max(math.min(rate, ceiling), floor)
end

-- The request window: the provider's own, floor(ceiling) calls (at least one) per
-- floor(ceiling) / ceiling seconds, with fewer calls in it at a lower effective rate (a window
-- shortened instead would let bursts past the provider's), and longer once even one call is too
-- many. Widened by a margin for the jitter between asking here and arriving there.
local function window_of(rate, ceiling, margin)
  local base = math.max(1, math.floor(ceiling)) / ceiling
  local capacity = math.floor(rate * base + 1e-9)
  if capacity >= 1 then
    return capacity, base + margin
  end
  return 1, 1 / rate + margin
end

-- How long until one more request fits in the window (0: now).
local function rate_wait(log_key, now, capacity, window)
  redis.call('ZREMRANGEBYSCORE', log_key, '-inf', now - window)
  local count = redis.call('ZCARD', log_key)
  if count < capacity then
    return 0
  end
  local oldest = redis.call('ZRANGE', log_key, count - capacity, count - capacity, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) + window - now, 0)
end

local function spend(log_key, stats_key, now, window)
  redis.call('ZADD', log_key, now, redis.call('HINCRBY', stats_key, 'requests', 1))
  redis.call('PEXPIRE', log_key, math.ceil(window * 1000) + 1000)
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

-- Give ``holder`` of ``batch`` a slot; the batch's turn moves behind every other batch.
local function occupy(slots_key, started_key, stats_key, served_key, holder, batch, now, lease)
  redis.call('ZADD', slots_key, now + lease, holder)
  redis.call('ZADD', started_key, 'NX', now, holder)
  local turn = redis.call('HINCRBY', stats_key, 'served', 1)
  redis.call('ZADD', served_key, turn, batch)
  redis.call('ZREMRANGEBYRANK', served_key, 0, -1001)
  return turn
end

local function turn_of(served_key, batch)
  return tonumber(redis.call('ZSCORE', served_key, batch) or '0')
end

-- Queue ``holder`` behind its batch's other parked holders (idempotent).
local function park(batches_key, stats_key, served_key, prefix, holder, batch, now)
  if redis.call('ZADD', prefix .. batch, 'NX', now, holder) == 1 then
    redis.call('HINCRBY', stats_key, 'parked', 1)
  end
  redis.call('ZADD', batches_key, 'NX', turn_of(served_key, batch), batch)
end

local function unpark(batches_key, stats_key, prefix, holder, batch)
  if redis.call('ZREM', prefix .. batch, holder) == 1 then
    redis.call('HINCRBY', stats_key, 'parked', -1)
  end
  if redis.call('EXISTS', prefix .. batch) == 0 then
    redis.call('ZREM', batches_key, batch)
  end
end
