-- Take a concurrency slot for a remote job: cooldown, then concurrency, fairness, rate.
-- KEYS: slots, started, rate, cooldown, aimd, stats, waiting interactive, waiting bulk, served
-- ARGV: now, holder, lease_s, concurrency, ceiling, floor, batch, priority,
--       recheck min, recheck max, hold guess, waiting grace
-- Returns {allowed (1/0), retry after seconds, reason}.
local now, holder, batch = tonumber(ARGV[1]), ARGV[2], ARGV[7]
local recheck_min, recheck_max = tonumber(ARGV[9]), tonumber(ARGV[10])
local interactive = ARGV[8] == 'interactive'
local my_waiting = interactive and KEYS[7] or KEYS[8]

local function deny(reason, wait)
  redis.call('ZADD', my_waiting, 'GT', now + wait + tonumber(ARGV[12]), batch)
  return {0, fmt(wait), reason}
end

-- When a slot is likely free: the oldest holder's start plus the key's observed hold time.
local function slot_wait()
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local hold = tonumber(redis.call('HGET', KEYS[6], 'avg_hold') or '') or tonumber(ARGV[11])
  if not oldest[2] or not hold then
    return recheck_max
  end
  return math.min(math.max(tonumber(oldest[2]) + hold - now, recheck_min), recheck_max)
end

-- Batches waiting for this key that should go before ours: every waiting interactive batch
-- when we are bulk, and the waiting batches of our priority served less recently than ours.
local function batches_ahead()
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now)
  local mine = tonumber(redis.call('ZSCORE', KEYS[9], batch) or '0')
  local ahead = 0
  for _, other in ipairs(redis.call('ZRANGE', my_waiting, 0, -1)) do
    if other ~= batch and tonumber(redis.call('ZSCORE', KEYS[9], other) or '0') < mine then
      ahead = ahead + 1
    end
  end
  if not interactive then
    ahead = ahead + redis.call('ZCARD', KEYS[7])
  end
  return ahead
end

local cooling = cooldown_left(KEYS[4], now)
if cooling > 0 then
  return deny('cooldown', cooling)
end
reap(KEYS[1], KEYS[2], now)
local rate_wait, new_tat = gcra(KEYS[3], now, effective_rate(KEYS[5], ARGV[5], ARGV[6]))
local lease_until = now + tonumber(ARGV[3])
if redis.call('ZSCORE', KEYS[1], holder) then
  -- A redelivered submit: same slot, but its POST is one more request.
  if rate_wait > 0 then
    return {0, fmt(rate_wait), 'rate'}
  end
  redis.call('SET', KEYS[3], fmt(new_tat))
  redis.call('ZADD', KEYS[1], lease_until, holder)
  return {1, fmt(0), 'ok'}
end
local free = tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[1])
if free <= 0 then
  return deny('concurrency', slot_wait())
end
if batches_ahead() >= free then
  return deny('fair_share', recheck_min)
end
if rate_wait > 0 then
  return deny('rate', rate_wait)
end
redis.call('SET', KEYS[3], fmt(new_tat))
redis.call('ZADD', KEYS[1], lease_until, holder)
redis.call('ZADD', KEYS[2], now, holder)
redis.call('ZADD', KEYS[9], redis.call('HINCRBY', KEYS[6], 'served', 1), batch)
redis.call('ZREMRANGEBYRANK', KEYS[9], 0, -1001)
return {1, fmt(0), 'ok'}
