"""CSRF protection of the action forms: a token bound to the user, signed with a server key.

Browsers resend basic-auth credentials to any page that posts to us, so every POST must also
carry the token that only our own pages hold, and a cross-site ``Origin`` is refused outright.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pydantic import SecretStr

FIELD = "csrf"


class Csrf:
    """Makes and checks the per-user token of the action forms."""

    def __init__(self, secret: SecretStr | None) -> None:
        raw = secret.get_secret_value().encode() if secret else secrets.token_bytes(32)
        self._key = raw

    def token(self, user: str) -> str:
        """The token the pages of ``user`` embed in their forms."""
        return hmac.new(self._key, f"csrf:{user}".encode(), hashlib.sha256).hexdigest()

    def valid(self, user: str, token: str | None) -> bool:
        """True when ``token`` is ``user``'s."""
        return token is not None and hmac.compare_digest(self.token(user), token)


def same_origin(origin: str | None, host: str | None, scheme: str) -> bool:
    """True without an ``Origin`` header (not a browser's cross-site POST) or when it is ours."""
    if not origin:
        return True
    return host is not None and origin == f"{scheme}://{host}"
