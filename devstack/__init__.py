"""Local services on free ports: a private Redis, moto's S3 server, the emulator, Celery workers.

Used by the test fixtures, `restyle demo`, the benchmarks and the chaos run, so that all of them
start the same real processes the same way.
"""

from devstack.process import Service, free_port, wait_for
from devstack.redis import redis_server_binary, start_redis
from devstack.s3 import start_moto
from devstack.stack import Stack

__all__ = [
    "Service",
    "Stack",
    "free_port",
    "redis_server_binary",
    "start_moto",
    "start_redis",
    "wait_for",
]
