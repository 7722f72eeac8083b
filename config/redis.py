"""Every Redis connection restyle makes, built from `Settings`: one place, one policy.

`redis_client` is the ledger's, limiter's, budget's, CLI's and benchmarks' client; `celery_redis`
is the Celery broker, result backend and RedBeat configuration for the same Redis. The target
is one Redis (``redis://``) or a Sentinel set (``sentinel://h1:26379,h2:26379/mymaster``); with
Sentinel every new connection asks the sentinels where the primary is, so after a failover the
next connection goes to the promoted replica with no restart.

It sits in ``config`` because every process (worker, beat, CLI, web, benchmark) already builds
from `Settings` here and nothing below needs more than a client (``Ledger.from_settings`` gets
its own through here). It imports redis-py only; the Celery side is plain configuration values.

Credentials and TLS: the ACL user and password (the URL's, else ``RESTYLE_REDIS_USERNAME`` and
``RESTYLE_REDIS_PASSWORD``) reach every client, the broker and the result backend alike; a
``rediss://`` URL is verified the same way by all of them (`tls_options`). Celery masks the
password of its broker and backend URLs in every dump of its configuration (``inspect conf``,
Flower); RedBeat is handed a built client, so its own URL carries none.

Errors: `probe` asks once and names the cause in one line (`RedisUnavailable`: unreachable, no
answer, authentication, TLS); a refused password or certificate is never retried, by any client.

Reconnecting: a call that meets a dropped connection, a refused one, or a primary turned replica
(redis-py's Sentinel pool turns READONLY into a ConnectionError) is retried with capped
exponential backoff for about ``redis_failover_wait_s``, long enough for Sentinel to promote a
replica (about ``down-after-milliseconds`` + 1-2 s) or for one Redis to restart.
"""

from __future__ import annotations

import math
import re
import socket
import ssl
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import AuthenticationError, AuthorizationError
from redis.retry import Retry
from redis.sentinel import Sentinel

from config.redaction import redact
from config.settings import SentinelSet, Settings

BACKOFF_CAP_S = 2.0
BACKOFF_BASE_S = 0.05
HEALTH_CHECK_S = 15
"""An idle pooled connection is PINGed before use after this long, so a connection to a
primary that died while it sat in the pool fails there and is replaced, not mid-command."""


class RedisUnavailable(Exception):
    """Redis cannot be used as configured; ``str()`` is one line: where, and why.

    ``cause`` is `UNREACHABLE`, `TIMEOUT`, `AUTHENTICATION`, `TLS` or `REFUSED`. A wrong
    password or certificate never fixes itself, so a process meeting `AUTHENTICATION` or `TLS`
    at start stops instead of retrying forever.
    """

    def __init__(self, where: str, cause: str, detail: str) -> None:
        super().__init__(f"Redis at {where}: {cause} ({detail})")
        self.where, self.cause, self.detail = where, cause, detail


UNREACHABLE = "unreachable"
TIMEOUT = "no answer in time"
AUTHENTICATION = "authentication refused"
TLS = "TLS handshake failed"
REFUSED = "command refused"
PERMANENT = frozenset({AUTHENTICATION, TLS})
"""Causes that waiting does not cure: the configuration is wrong."""

_HINTS = {
    AUTHENTICATION: "check RESTYLE_REDIS_PASSWORD and RESTYLE_REDIS_USERNAME",
    TLS: "check RESTYLE_REDIS_TLS_CA_FILE and the server's certificate",
}


def cause_of(exc: BaseException) -> str:
    """The cause (see `RedisUnavailable`) a redis-py error means; for TLS, its chained
    OSError (an `ssl.SSLError`) says so."""
    chained = exc.__cause__ or exc.__context__
    if isinstance(exc, AuthenticationError | AuthorizationError):
        return AUTHENTICATION
    if isinstance(exc, redis.ResponseError) and str(exc).startswith(("NOAUTH", "WRONGPASS")):
        return AUTHENTICATION
    if isinstance(chained, ssl.SSLError):
        return TLS
    if isinstance(exc, redis.TimeoutError) or isinstance(chained, socket.timeout | TimeoutError):
        return TIMEOUT
    if isinstance(exc, redis.ConnectionError | OSError):
        return UNREACHABLE
    return REFUSED


def unavailable(settings: Settings, exc: BaseException) -> RedisUnavailable:
    """`RedisUnavailable` for ``exc`` met on the configured Redis (no password in it)."""
    cause = cause_of(exc)
    detail = _first_line(str(exc)) or type(exc).__name__
    hint = _HINTS.get(cause)
    return RedisUnavailable(describe(settings), cause, f"{detail}; {hint}" if hint else detail)


_CONNECTING = re.compile(r"^Error \S+ connecting to \S+?\.? ")
"""redis-py's prefix naming the address again (`RedisUnavailable` names it once)."""


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return redact(_CONNECTING.sub("", line).rstrip("."))


class _Retry(Retry):
    """redis-py's `Retry`, except that a refused password or certificate is raised at once:
    retrying it only hides the cause (and takes ``redis_failover_wait_s`` to do so)."""

    def call_with_retry(self, do: Any, fail: Any, *args: Any, **kwargs: Any) -> Any:
        def failed(error: Exception, *rest: Any) -> Any:
            done = fail(error, *rest)  # the caller's cleanup (disconnect) runs either way
            if cause_of(error) in PERMANENT:
                raise error
            return done

        return super().call_with_retry(do, failed, *args, **kwargs)


def retry_policy(settings: Settings) -> Retry:
    """Retries that span ``redis_failover_wait_s`` (at most `BACKOFF_CAP_S` between tries)."""
    tries = math.ceil(settings.redis_failover_wait_s / BACKOFF_CAP_S) + 6
    return _Retry(
        ExponentialBackoff(cap=BACKOFF_CAP_S, base=BACKOFF_BASE_S),
        tries,
        supported_errors=(redis.ConnectionError, redis.TimeoutError),
    )


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def _client_options(settings: Settings, connect_timeout_s: float) -> dict[str, Any]:
    return {
        **tls_options(settings),
        "retry": retry_policy(settings),
        "socket_connect_timeout": connect_timeout_s,
        # Above the longest answer restyle waits for: WAIT blocks up to its own timeout.
        "socket_timeout": max(connect_timeout_s, 10.0, settings.redis_wait_timeout_ms / 1000 + 5),
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_S,
    }


def sentinel_manager(settings: Settings, found: SentinelSet, timeout_s: float = 1.0) -> Sentinel:
    """redis-py's `Sentinel` for ``found``, with the sentinels' own password and timeouts."""
    sentinel_options: dict[str, Any] = {
        "socket_timeout": timeout_s,
        "socket_connect_timeout": timeout_s,
    }
    if settings.redis_sentinel_password is not None:
        sentinel_options["password"] = _secret(settings.redis_sentinel_password)
    return Sentinel(list(found.sentinels), sentinel_kwargs=sentinel_options)


def redis_client(settings: Settings, connect_timeout_s: float = 5.0) -> redis.Redis[bytes]:
    """A client of the configured Redis (its primary, for a Sentinel set): the one constructor
    of every restyle client (ledger, limiter, budget, breakers, CLI, web, benchmarks)."""
    return _client(settings, _client_options(settings, connect_timeout_s))


def probe(settings: Settings) -> None:
    """PING the configured Redis once, within ``redis_connect_timeout_s``; raise
    `RedisUnavailable` naming the cause instead of retrying (for a first contact, where
    a clear answer in seconds beats waiting out a failover that is not happening)."""
    timeout = settings.redis_connect_timeout_s
    options = {
        **tls_options(settings),
        "retry": Retry(NoBackoff(), 0),
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
    }
    client: redis.Redis[bytes] | None = None
    try:
        client = _client(settings, options, sentinel_timeout_s=timeout)
        client.ping()
    except (redis.RedisError, OSError) as exc:
        raise unavailable(settings, exc) from None
    finally:
        if client is not None:
            client.close()


def tls_options(settings: Settings, url: str | None = None) -> dict[str, Any]:
    """redis-py's (and kombu's, and Celery's backend's) TLS options for a ``rediss://`` URL
    (``url``, else ``redis_url``): the server's certificate verified against
    ``redis_tls_ca_file`` (or the system's CAs) and its host name checked; a client
    certificate when one is configured. Empty for any other URL."""
    if not (url or settings.redis_url).startswith("rediss://"):
        return {}
    options: dict[str, Any] = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_check_hostname": True}
    if settings.redis_tls_ca_file:
        options["ssl_ca_certs"] = settings.redis_tls_ca_file
    if settings.redis_tls_cert_file:
        options["ssl_certfile"] = settings.redis_tls_cert_file
    if settings.redis_tls_key_file:
        options["ssl_keyfile"] = settings.redis_tls_key_file
    return options


def credentials(settings: Settings) -> tuple[str | None, str | None]:
    """The ACL user and password of the data nodes: the URL's, else the settings'."""
    username = settings.redis_username
    password = _secret(settings.redis_password)
    if settings.redis_sentinels is None and not settings.redis_url.startswith("unix://"):
        parts = urlsplit(settings.redis_url)
        username = unquote(parts.username) if parts.username else username
        password = unquote(parts.password) if parts.password else password
    return username or None, password


BEAT_CALL_TRIES = 5
"""Tries of one of beat's Redis calls, 0.1 s to 1 s apart (2.5 s in all). Beat outlives an
outage by ticking again every two seconds (`workers.beat_scheduler`), not inside a call: a call
retrying for ``redis_failover_wait_s`` also held up beat's SIGTERM handler (it releases the
lock) and its start (SIGTERM then built a second scheduler, retrying again)."""


def redbeat_client(settings: Settings) -> redis.Redis[str]:
    """The client RedBeat uses (it reads strings), with short retries (`BEAT_CALL_TRIES`)."""
    options = {
        **_client_options(settings, 2.0),
        "retry": _Retry(
            ExponentialBackoff(cap=1.0, base=BACKOFF_BASE_S),
            BEAT_CALL_TRIES,
            supported_errors=(redis.ConnectionError, redis.TimeoutError),
        ),
        "decode_responses": True,
    }
    client: redis.Redis[str] = _client(settings, options)  # type: ignore[assignment]
    return client


def _client(
    settings: Settings, options: dict[str, Any], sentinel_timeout_s: float = 1.0
) -> redis.Redis[bytes]:
    username, password = credentials(settings)
    found = settings.redis_sentinels
    if found is None:
        # The URL's own user and password, when it has them, override these (redis-py).
        return redis.Redis.from_url(
            settings.redis_url, username=username, password=password, **options
        )
    manager = sentinel_manager(settings, found, sentinel_timeout_s)
    client: redis.Redis[bytes] = manager.master_for(
        found.master_name, db=found.db, username=username, password=password, **options
    )
    return client


def describe(settings: Settings) -> str:
    """Where Redis is, for messages (never a password)."""
    found = settings.redis_sentinels
    if found is None:
        return _without_credentials(settings.redis_url).split("?")[0]
    hosts = ",".join(f"{host}:{port}" for host, port in found.sentinels)
    return f"primary {found.master_name!r} of sentinels {hosts}"


def _with_credentials(url: str, settings: Settings) -> str:
    """``url`` carrying the ACL user and password (Celery's broker and backend take them only
    in the URL; Celery masks the password of both wherever it shows its configuration)."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme == "unix":
        return url
    username, password = credentials(settings)
    rest = rest.rpartition("@")[2]
    return f"{scheme}://{_auth(username, password)}{rest}"


def _auth(username: str | None, password: str | None) -> str:
    if username is None and password is None:
        return ""
    user = quote(username or "", safe="")
    return f"{user}:{quote(password, safe='')}@" if password is not None else f"{user}@"


def _without_credentials(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}{rest.rpartition('@')[2]}" if sep else url


def _kombu_sentinel_url(settings: Settings, found: SentinelSet) -> str:
    auth = _auth(*credentials(settings))
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
    # RedBeat is handed a client of `redbeat_client` (workers.factory), so it never builds one
    # from these: the URL carries no password, and the worker's `inspect conf` (which Flower
    # shows) has none to show.
    if found is None:
        return {
            "redbeat_redis_url": _without_credentials(settings.redis_url),
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
    return {"redbeat_redis_url": "redis-sentinel://", "redbeat_redis_options": options}


_KOMBU = ("redis://", "sentinel://")


def celery_redis(settings: Settings) -> dict[str, Any]:
    """Celery's broker, result backend and RedBeat settings for the configured Redis.

    The broker keeps reconnecting (``broker_connection_max_retries=None``), so a worker or
    beat outlives an outage of any length instead of exiting after 100 tries.
    """
    found = settings.redis_sentinels
    default = (
        _with_credentials(settings.redis_url, settings)
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
        # The same verification as every other client (kombu and Celery's backend would
        # otherwise connect to a rediss:// URL without checking the certificate, or refuse it).
        "broker_use_ssl": tls_options(settings, broker) or None,
        "redis_backend_use_ssl": tls_options(settings, backend) or None,
        **_redbeat(settings, found),
    }
