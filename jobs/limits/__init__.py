"""Per-key limits shared by every worker: the limiter, the circuit breaker, tiers and their Lua."""
