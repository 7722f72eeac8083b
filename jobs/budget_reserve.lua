-- Reserve money for one job unless reserved + spent + amount would pass the batch's limit.
-- KEYS: budget
-- ARGV: amount in micro-dollars
-- Returns 1 reserved, 0 refused.
local amount = tonumber(ARGV[1])
local money = redis.call('HMGET', KEYS[1], 'limit', 'reserved', 'spent')
if money[1] then
  local used = tonumber(money[2] or '0') + tonumber(money[3] or '0')
  if used + amount > tonumber(money[1]) then
    return 0
  end
end
redis.call('HINCRBY', KEYS[1], 'reserved', amount)
return 1
