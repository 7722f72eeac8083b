"""Which provider and key a submit goes to.

Routing and failover, pooling across keys, tiers, daily caps and what a refusal says of a key.
"""
