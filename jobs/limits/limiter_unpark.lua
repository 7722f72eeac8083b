-- Take a parked holder out of one key's queue: it went to wait for any key instead.
-- KEYS: parked batches of its priority, stats
-- ARGV: parked prefix, holder, batch
unpark(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])
return 1
