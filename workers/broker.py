"""kombu's Redis transports, with one fix on the path a dropped broker connection takes.

When the broker connection drops, Celery's consumer collects the connection (which detaches
the transport from it) and then closes it again. kombu's Redis channel, closed a second time,
tries to give back its unacknowledged messages through a pool it rebuilds from the detached
connection, and raises AttributeError (``'NoneType' object has no attribute 'hostname'``, the
trace of kombu#582), which Celery treats as unrecoverable: the worker exits. Reproduced with
kombu 5.7.0 by SIGKILLing the Redis primary (bench/failover.py). Raising redis-py's
ConnectionError there instead makes it one more lost connection: the consumer reconnects (to
the promoted replica, through the sentinels), the messages it could not give back return after
the visibility timeout, and the reconciler re-drives their jobs well before that.
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class _DetachedSafe:
    connection: Any

    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise redis.ConnectionError("the broker connection is already closed")
        return super()._connparams(asynchronous)  # type: ignore[misc]


class Channel(_DetachedSafe, kombu_redis.Channel):
    """kombu's Redis channel."""


class SentinelChannel(_DetachedSafe, kombu_redis.SentinelChannel):
    """kombu's Sentinel channel."""


class Transport(kombu_redis.Transport):
    """``redis://`` broker."""

    Channel = Channel


class SentinelTransport(kombu_redis.SentinelTransport):
    """``sentinel://`` broker."""

    Channel = SentinelChannel
