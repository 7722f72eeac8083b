"""Every Redis connection restyle makes, built from `Settings`: one place, one policy.

`redis_client` is the ledger's, limiter's, budget's, CLI's and benchmarks' client; `celery_redis`
is the Celery broker, result backend and RedBeat configuration for the same Redis. The target
is one Redis (``redis://``) or a Sentinel set (``sentinel://h1:26379,h2:26379/mymaster``); with
Sentinel every new connection asks the sentinels where the primary is, so after a failover the
next connection goes to the promoted replica with no restart.

It sits in ``config`` because every process (worker, beat, CLI, web, benchmark) already builds
from `Settings` here and nothing below needs more than a client: ``jobs`` receives one and never
makes one. It imports redis-py only; the Celery side is plain configuration values.

Reconnecting: a call that meets a dropped connection, a refused one, or a primary turned replica
(redis-py's Sentinel pool turns READONLY into a ConnectionError) is retried with capped
exponential backoff for about ``redis_failover_wait_s``, long enough for Sentinel to promote a
replica (about ``down-after-milliseconds`` + 1-2 s) or for one Redis to restart.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from config.settings import SentinelSet, Settings

BACKOFF_CAP_S = 2.0
BACKOFF_BASE_S = 0.05
HEALTH_CHECK_S = 15
"""An idle pooled connection is PINGed before use after this long, so a connection to a
primary that died while it sat in the pool fails there and is replaced, not mid-command."""


def retry_policy(settings: Settings) -> Retry:
    """Retries that span ``redis_failover_wait_s`` (at most `BACKOFF_CAP_S` between tries)."""
    tries = math.ceil(settings.redis_failover_wait_s / BACKOFF_CAP_S) + 6
    return Retry(
        ExponentialBackoff(cap=BACKOFF_CAP_S, base=BACKOFF_BASE_S),
        tries,
        supported_errors=(redis.ConnectionError, redis.TimeoutError),
    )


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def _client_options(settings: Settings, connect_timeout_s: float) -> dict[str, Any]:
    return {
        "retry": retry_policy(settings),
        "socket_connect_timeout": connect_timeout_s,
        # Above the longest answer restyle waits for: WAIT blocks up to its own timeout.
        "socket_timeout": max(connect_timeout_s, 10.0, settings.redis_wait_timeout_ms / 1000 + 5),
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_S,
    }


def sentinel_manager(settings: Settings, found: SentinelSet) -> Sentinel:
    """redis-py's `Sentinel` for ``found``, with the sentinels' own password and timeouts."""
    sentinel_options: dict[str, Any] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
    if settings.redis_sentinel_password is not None:
        sentinel_options["password"] = _secret(settings.redis_sentinel_password)
    return Sentinel(list(found.sentinels), sentinel_kwargs=sentinel_options)


def redis_client(settings: Settings, connect_timeout_s: float = 5.0) -> redis.Redis[bytes]:
    """A client of the configured Redis (its primary, for a Sentinel set)."""
    return _client(settings, _client_options(settings, connect_timeout_s))


def redbeat_client(settings: Settings) -> redis.Redis[str]:
    """The client RedBeat uses (it reads strings), with the same retries as every other."""
    options = {**_client_options(settings, 5.0), "decode_responses": True}
    client: redis.Redis[str] = _client(settings, options)  # type: ignore[assignment]
    return client


def _client(settings: Settings, options: dict[str, Any]) -> redis.Redis[bytes]:
    password = _secret(settings.redis_password)
    found = settings.redis_sentinels
    if found is None:
        if password is not None:
            options["password"] = password
        return redis.Redis.from_url(settings.redis_url, **options)
    client: redis.Redis[bytes] = sentinel_manager(settings, found).master_for(
        found.master_name, db=found.db, password=password, **options
    )
    return client


def describe(settings: Settings) -> str:
    """Where Redis is, for messages (never a password)."""
    found = settings.redis_sentinels
    if found is None:
        return settings.redis_url.split("@")[-1]
    hosts = ",".join(f"{host}:{port}" for host, port in found.sentinels)
    return f"primary {found.master_name!r} of sentinels {hosts}"


def _with_password(url: str, settings: Settings) -> str:
    """``url`` carrying ``redis_password`` (Celery and RedBeat take it only in the URL)."""
    password = _secret(settings.redis_password)
    scheme, sep, rest = url.partition("://")
    if password is None or not sep or "@" in rest or scheme == "unix":
        return url
    return f"{scheme}://:{quote(password, safe='')}@{rest}"


def _kombu_sentinel_url(settings: Settings, found: SentinelSet) -> str:
    password = _secret(settings.redis_password)
    auth = f":{quote(password, safe='')}@" if password else ""
    return ";".join(f"sentinel://{auth}{host}:{port}/{found.db}" for host, port in found.sentinels)


def _transport_options(settings: Settings, found: SentinelSet | None) -> dict[str, Any]:
    options: dict[str, Any] = {
        "visibility_timeout": settings.visibility_timeout_s,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_S,
        "retry_on_timeout": True,
    }
    if found is not None:
        options["master_name"] = found.master_name
        options["sentinel_kwargs"] = {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
        if settings.redis_sentinel_password is not None:
            options["sentinel_kwargs"]["password"] = _secret(settings.redis_sentinel_password)
    return options


def _redbeat(settings: Settings, found: SentinelSet | None) -> dict[str, Any]:
    if found is None:
        return {
            "redbeat_redis_url": _with_password(settings.redis_url, settings),
            "redbeat_redis_options": {"retry_period": settings.redis_failover_wait_s},
        }
    options: dict[str, Any] = {
        "sentinels": list(found.sentinels),
        "service_name": found.master_name,
        "db": found.db,
        "socket_timeout": 5.0,
        "sentinel_kwargs": _transport_options(settings, found)["sentinel_kwargs"],
        # RedBeat retries each Redis call for this long (its RetryingConnection).
        "retry_period": settings.redis_failover_wait_s,
    }
    if settings.redis_password is not None:
        options["password"] = _secret(settings.redis_password)
    return {"redbeat_redis_url": "redis-sentinel://", "redbeat_redis_options": options}


_KOMBU = ("redis://", "sentinel://")


def celery_redis(settings: Settings) -> dict[str, Any]:
    """Celery's broker, result backend and RedBeat settings for the configured Redis.

    The broker keeps reconnecting (``broker_connection_max_retries=None``), so a worker or
    beat outlives an outage of any length instead of exiting after 100 tries.
    """
    found = settings.redis_sentinels
    default = (
        _with_password(settings.redis_url, settings)
        if found is None
        else _kombu_sentinel_url(settings, found)
    )
    broker = settings.broker_url or default
    backend = settings.result_backend or default
    transport = "SentinelTransport" if broker.startswith("sentinel://") else "Transport"
    return {
        "broker_url": broker,
        # kombu's own transports with a fix for a worker exiting on a lost connection (see
        # workers/broker.py); named here as a string, so config imports nothing of Celery's.
        "broker_transport": f"workers.broker:{transport}" if broker.startswith(_KOMBU) else None,
        "result_backend": backend,
        "broker_transport_options": _transport_options(
            settings, found if broker == default else None
        ),
        "result_backend_transport_options": _transport_options(
            settings, found if backend == default else None
        ),
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        # A task running when the connection drops finishes (a POST in flight is not cut
        # short); its ack is lost, and the reconciler re-drives the job if it needs it.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "redis_backend_health_check_interval": HEALTH_CHECK_S,
        "redis_socket_keepalive": True,
        **_redbeat(settings, found),
    }
