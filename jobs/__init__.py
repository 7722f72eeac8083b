"""The domain: jobs and their states, the Redis ledger (compare-and-set), the limiter."""
