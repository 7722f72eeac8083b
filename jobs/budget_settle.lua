-- Take an amount out of the reservation (never below zero) and add it to what was spent.
-- KEYS: budget
-- ARGV: amount in micro-dollars, amount to add to spent (the same amount, or 0 on release)
local amount = tonumber(ARGV[1])
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
redis.call('HSET', KEYS[1], 'reserved', math.max(reserved - amount, 0))
if tonumber(ARGV[2]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
end
return 1
