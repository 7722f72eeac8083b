"""What ``restyle web`` refuses before any page: foreign Host headers, login floods, redirects
off the site. The decisions are pure (a given ``now``); `HostGuard` and the auth middleware
apply them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def host_name(header: str) -> str:
    """The host of a ``Host`` header without its port (``[::1]:8300`` -> ``[::1]``)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header.partition("]")[0] + "]"
    return header.rpartition(":")[0] if header.count(":") == 1 else header


def allowed_hosts(extra: Iterable[str], public_url: str | None) -> frozenset[str]:
    """localhost, 127.0.0.1 and [::1], ``RESTYLE_WEB__ALLOWED_HOSTS`` and the public URL's host.

    A page of another site that rebinds its own name to 127.0.0.1 sends its own name as Host:
    refused, so an open (``--no-auth``) dashboard cannot be driven from a browser tab.
    """
    hosts = set(LOCAL_HOSTS) | {host.strip().lower() for host in extra if host.strip()}
    if public_url:
        hosts.add((urlsplit(public_url).hostname or "").lower())
    return frozenset(hosts)


def host_allowed(header: str | None, hosts: frozenset[str]) -> bool:
    """True when the ``Host`` header names one of ``hosts``."""
    return header is not None and host_name(header) in hosts


def safe_back(referer: str | None, host: str | None) -> str:
    """Where to send the browser after an action: the Referer's path when it is a page of this
    site, else ``/``. Never another origin, never ``//evil.example`` (protocol-relative)."""
    if not referer:
        return "/"
    parts = urlsplit(referer)
    if parts.netloc and (host is None or parts.netloc.lower() != host.lower()):
        return "/"
    path = parts.path
    if not path.startswith("/") or path.startswith(("//", "/\\")) or "\\" in path:
        return "/"
    return path


@dataclass
class LoginThrottle:
    """Failed logins per client address: after ``limit`` failures within ``window_s`` the
    client is refused (429) until the window has passed. Kept per process, for at most
    ``max_clients`` addresses (the oldest forgotten first)."""

    limit: int = 10
    window_s: float = 60.0
    max_clients: int = 10_000
    _failures: OrderedDict[str, list[float]] = field(default_factory=OrderedDict)

    def retry_after(self, client: str, now: float) -> float | None:
        """Seconds ``client`` must wait before trying again, or None when it may try now."""
        recent = self._recent(client, now)
        if len(recent) < self.limit:
            return None
        return max(recent[0] + self.window_s - now, 1.0)

    def failed(self, client: str, now: float) -> None:
        """Count one failed login of ``client`` at ``now``."""
        recent = self._recent(client, now)
        recent.append(now)
        self._failures[client] = recent
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def _recent(self, client: str, now: float) -> list[float]:
        return [at for at in self._failures.get(client, []) if at > now - self.window_s]
