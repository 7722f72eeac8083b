"""Liveness leases: a worker holding a job or clip in a long step says so every few seconds.

`lease.py` reads what a lease says (pure), `store.py` keeps leases in Redis, `heartbeat.py`
renews a process's leases from one thread.
"""
