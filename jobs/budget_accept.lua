-- A POST the provider accepted (or may have: its answer was lost): take our estimate out of
-- the reservation (never below zero) and count what the job may cost as spent, in one step,
-- so a concurrent reservation sees the figure at once. Where the provider said the most the
-- job may charge (Runway's estimatedCost) that is the figure counted, and it is kept apart as
-- `ceiling` until the bill replaces it.
-- KEYS: budget, spend
-- ARGV: reserved (our estimate), counted, 1 when counted is the provider's maximum else 0,
--       spend field of the counted figure
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
redis.call('HSET', KEYS[1], 'reserved', math.max(reserved - tonumber(ARGV[1]), 0))
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
if ARGV[3] == '1' then
  redis.call('HINCRBY', KEYS[1], 'ceiling', ARGV[2])
end
if tonumber(ARGV[2]) > 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[4], ARGV[2])
end
return 1
