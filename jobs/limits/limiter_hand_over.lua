-- Hand the key's free slots to parked holders: interactive batches first, then bulk ones, and
-- within a priority the batch whose turn is oldest (round robin). Each holder handed a slot
-- holds it under a lease from now, so a lost wake-up frees it again.
-- KEYS: slots, started, stats, parked interactive batches, parked bulk batches, served
-- ARGV: now, concurrency, lease_s, parked prefix
-- Returns {holder, priority, holder, priority, ...}.
local now, lease, prefix = tonumber(ARGV[1]), tonumber(ARGV[3]), ARGV[4]
reap(KEYS[1], KEYS[2], now)
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
local woken = {}
local lists = {{KEYS[4], 'interactive'}, {KEYS[5], 'bulk'}}
local guard = 0
while free > 0 and guard < 1000 do
  guard = guard + 1
  local list, priority = lists[1][1], lists[1][2]
  local head = redis.call('ZRANGE', list, 0, 0)
  if #head == 0 then
    list, priority = lists[2][1], lists[2][2]
    head = redis.call('ZRANGE', list, 0, 0)
  end
  if #head == 0 then
    break
  end
  local batch = head[1]
  local popped = redis.call('ZPOPMIN', prefix .. batch)
  if #popped > 0 then
    redis.call('HINCRBY', KEYS[3], 'parked', -1)
    local turn = occupy(KEYS[1], KEYS[2], KEYS[3], KEYS[6], popped[1], batch, now, lease)
    redis.call('ZADD', list, 'XX', turn, batch)
    table.insert(woken, popped[1])
    table.insert(woken, priority)
    free = free - 1
  end
  if redis.call('EXISTS', prefix .. batch) == 0 then
    redis.call('ZREM', list, batch)
  end
end
return woken
