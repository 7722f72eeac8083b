-- Take a concurrency slot for a remote job: cooldown, then concurrency, fairness, rate.
-- A holder refused for concurrency or fairness is parked: `limiter_wake` hands it a slot later.
-- KEYS: slots, started, requests, cooldown, aimd, stats, parked interactive batches,
--       parked bulk batches, served
-- ARGV: now, holder, lease_s, concurrency, ceiling, floor, batch, priority, margin,
--       hold guess, parked prefix, recheck min, recheck max
-- Returns {allowed (1/0), retry after seconds, reason, parked (1/0)}.
local now, holder, lease = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local concurrency, batch, margin = tonumber(ARGV[4]), ARGV[7], tonumber(ARGV[9])
local prefix, recheck_min, recheck_max = ARGV[11], tonumber(ARGV[12]), tonumber(ARGV[13])
local interactive = ARGV[8] == 'interactive'
local my_batches = interactive and KEYS[7] or KEYS[8]

-- When this holder's turn is likely: the oldest holder's start plus the key's observed hold
-- time, plus one hold time per full round of parked holders.
local function estimate()
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local hold = tonumber(redis.call('HGET', KEYS[6], 'avg_hold') or '') or tonumber(ARGV[10])
  if not oldest[2] or not hold then
    return recheck_max
  end
  local first = math.min(math.max(tonumber(oldest[2]) + hold - now, recheck_min), recheck_max)
  local ahead = math.max(tonumber(redis.call('HGET', KEYS[6], 'parked') or '0') - 1, 0)
  return first + math.floor(ahead / concurrency) * hold
end

local function deny_parked(reason)
  park(my_batches, KEYS[6], KEYS[9], prefix, holder, batch, now)
  return {0, fmt(estimate()), reason, 1}
end

-- Parked batches that go before ours: every interactive one when we are bulk, and those of our
-- priority whose turn comes first.
local function batches_ahead()
  local mine = tonumber(redis.call('ZSCORE', my_batches, batch) or '') or turn_of(KEYS[9], batch)
  local ahead = redis.call('ZCOUNT', my_batches, '-inf', '(' .. mine)
  if not interactive then
    ahead = ahead + redis.call('ZCARD', KEYS[7])
  end
  return ahead
end

local cooling = cooldown_left(KEYS[4], now)
if cooling > 0 then
  return {0, fmt(cooling), 'cooldown', 0}
end
reap(KEYS[1], KEYS[2], now)
local rate = effective_rate(KEYS[5], ARGV[5], ARGV[6])
local capacity, window = window_of(rate, tonumber(ARGV[5]), margin)
local wait = rate_wait(KEYS[3], now, capacity, window)
if redis.call('ZSCORE', KEYS[1], holder) then
  -- Handed a slot by limiter_wake, or a redelivered submit: same slot, one more request.
  if wait > 0 then
    return {0, fmt(wait), 'rate', 0}
  end
  spend(KEYS[3], KEYS[6], now, window)
  redis.call('ZADD', KEYS[1], now + lease, holder)
  redis.call('ZADD', KEYS[2], 'NX', now, holder)
  return {1, fmt(0), 'ok', 0}
end
local free = concurrency - redis.call('ZCARD', KEYS[1])
if free <= 0 then
  return deny_parked('concurrency')
end
if batches_ahead() >= free then
  return deny_parked('fair_share')
end
if wait > 0 then
  return {0, fmt(wait), 'rate', 0}
end
spend(KEYS[3], KEYS[6], now, window)
unpark(my_batches, KEYS[6], prefix, holder, batch)
occupy(KEYS[1], KEYS[2], KEYS[6], KEYS[9], holder, batch, now, lease)
return {1, fmt(0), 'ok', 0}
