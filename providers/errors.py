"""The one exception tree for everything that can go wrong talking to a provider.

::

    ProviderFailure                      (provider, message, status_code)
    ├── RefusedBeforeAcceptance          no remote job can exist: the job may go elsewhere
    ├── RetryableFailure                 the call may succeed later; the task layer retries
    │   ├── RateLimited(retry_after)     429 (refused before acceptance)
    │   │   └── DailyCap                 a 429 that is the key's daily cap (Runway's, no
    │   │                                Retry-After): hours, not seconds, before it serves
    │   ├── ProviderUnavailable(retry_after)
    │   │   │                            no answer: connection errors, timeouts
    │   │   ├── AnswerLost               sent, but the answer was lost: a read timeout, a
    │   │   │                            connection dropped mid-answer, an unreadable 2xx
    │   │   ├── NotSent                  no connection was made (refused, connect or pool
    │   │   │                            timeout): refused before acceptance
    │   │   └── ServiceDown              408, 502, 503, 504: refused before acceptance
    │   │       └── Maintenance          455, or a 503 that says when to come back
    │   └── ProviderError                500, unparseable or unexpected bodies
    │       └── RetryRefused             a 4xx the provider asked to retry (x-should-retry:
    │                                    true): refused before acceptance
    └── FatalFailure                     retrying cannot help; the job fails with `kind`
        ├── InvalidRequest               400, 422 validation, or refused before sending
        ├── AuthenticationFailed         401, 403 auth
        ├── InsufficientCredits          402, aimlapi's 403, segmind's credit code
        ├── ContentRejected              moderation, Runway SAFETY.*
        ├── GenerationFailed             501, a remote job FAILED without a safety cause
        ├── FeatureDisabled              505
        ├── ResultExpired                404 after the provider's retention
        └── ProviderRefused              a transient-looking error the provider marked final
                                         (Runway ``x-should-retry: false``)

The class says everything later steps need: whether a request was sent and may have been
accepted (`AnswerLost` and a bare `ProviderUnavailable` may hide a remote job; a
`RefusedBeforeAcceptance` or any `FatalFailure` cannot), and what it says of the key (`DailyCap`,
`Maintenance`, `ServiceDown`...). It is chosen here, at the provider boundary (`providers.http`,
`providers.adapter`), like httpx's ``ConnectError`` against ``ReadTimeout``; nothing after the
boundary reads a status code or a message (tests/architecture/test_decisions_by_class.py).

"The call failed" is one of these exceptions; "the remote job failed" is a `RemoteStatus` whose
state is FAILED and whose ``failure_kind`` names one of the fatal kinds. Messages carry the
provider's own words and never an API key.
"""

from __future__ import annotations

from jobs.failures import FailureKind


class ProviderFailure(Exception):
    """Root of the tree: a provider call that did not give what was asked."""

    kind: FailureKind = FailureKind.PROVIDER

    def __init__(self, provider: str, message: str, status_code: int | None = None) -> None:
        self.provider = provider
        self.message = message
        self.status_code = status_code
        code = f" (HTTP {status_code})" if status_code is not None else ""
        super().__init__(f"{provider}{code}: {message}")


class RefusedBeforeAcceptance(ProviderFailure):
    """The provider answered and created no remote job (busy, down, in maintenance, or out of
    what the key may do): the job may move to another key or provider without paying twice.

    Mixed into the retryable classes whose answer says so; every `FatalFailure` means as much
    (`refused_before_acceptance`).
    """


class RetryableFailure(ProviderFailure):
    """The same call may succeed later. ``retry_after`` is the provider's hint in seconds."""

    def __init__(
        self,
        provider: str,
        message: str,
        status_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(provider, message, status_code)
        self.retry_after = retry_after

    @property
    def throttles_key(self) -> bool:
        """The provider asked this key to slow down: a 429, or any answer with Retry-After.

        The limiter then cools the key down for every worker, not only this job's retry.
        """
        return isinstance(self, RateLimited) or self.retry_after is not None


class RateLimited(RetryableFailure, RefusedBeforeAcceptance):
    """429: too many requests or too many jobs in flight for this key."""

    kind = FailureKind.PROVIDER_UNAVAILABLE


class DailyCap(RateLimited):
    """The key made its daily cap of generations (a provider whose 429 means only that, when
    it names no Retry-After): no wait of seconds lifts it, and no limiter cooldown should."""


class ProviderUnavailable(RetryableFailure):
    """The provider did not answer in time, or the connection failed (the request may have been
    sent); its subclasses say more."""

    kind = FailureKind.PROVIDER_UNAVAILABLE


class AnswerLost(ProviderUnavailable):
    """The request went out and its answer never arrived whole.

    A read timeout, a connection dropped mid-answer, or a 2xx whose body cannot be read: for a
    submit, the provider may have created (and charged) a remote job that restyle never heard
    of. No provider documents honouring ``Idempotency-Key``, so re-sending may pay twice.
    """


class NotSent(ProviderUnavailable, RefusedBeforeAcceptance):
    """The request never left: no connection could be made (httpx's ``ConnectError``,
    ``ConnectTimeout``, ``PoolTimeout``), so no remote job exists and the job may go elsewhere."""


class ServiceDown(ProviderUnavailable, RefusedBeforeAcceptance):
    """The provider answered that it cannot serve now (408, 502, 503, 504): no job was made."""


class Maintenance(ServiceDown):
    """A maintenance window (455, or a 503 that says when to come back): the key's circuit opens
    at once, for the Retry-After when one came."""


class ProviderError(RetryableFailure):
    """500, or an answer restyle cannot read (bad JSON, unknown status word)."""

    kind = FailureKind.PROVIDER


class RetryRefused(ProviderError, RefusedBeforeAcceptance):
    """A 4xx refusal the provider asked to be retried (``x-should-retry: true``)."""


class FatalFailure(ProviderFailure):
    """Retrying the same request cannot help."""


class InvalidRequest(FatalFailure):
    """The provider (or restyle, before sending) refused the request's content.

    When restyle refuses before sending, ``field`` names the `EditRequest` field and
    ``allowed`` the values the provider takes.
    """

    kind = FailureKind.VALIDATION

    def __init__(
        self,
        provider: str,
        message: str,
        status_code: int | None = None,
        field: str | None = None,
        allowed: tuple[str, ...] = (),
    ) -> None:
        super().__init__(provider, message, status_code)
        self.field = field
        self.allowed = allowed


class AuthenticationFailed(FatalFailure):
    """The API key is missing, wrong or not allowed."""

    kind = FailureKind.AUTH


class InsufficientCredits(FatalFailure):
    """The account behind the key cannot pay for the job."""

    kind = FailureKind.CREDITS


class ContentRejected(FatalFailure):
    """Moderation refused the input or the output."""

    kind = FailureKind.MODERATION


class GenerationFailed(FatalFailure):
    """The remote job ran and failed for a reason other than moderation."""

    kind = FailureKind.GENERATION


class FeatureDisabled(FatalFailure):
    """The provider has switched this model or feature off (crun 505)."""

    kind = FailureKind.FEATURE_DISABLED


class ResultExpired(FatalFailure):
    """The remote job or its output is gone: the provider's retention has passed."""

    kind = FailureKind.EXPIRED


class ProviderRefused(FatalFailure):
    """An error that would be retried, but the provider said not to (``x-should-retry: false``)."""

    kind = FailureKind.PROVIDER


FATAL_BY_KIND: dict[FailureKind, type[FatalFailure]] = {
    FailureKind.VALIDATION: InvalidRequest,
    FailureKind.AUTH: AuthenticationFailed,
    FailureKind.CREDITS: InsufficientCredits,
    FailureKind.MODERATION: ContentRejected,
    FailureKind.GENERATION: GenerationFailed,
    FailureKind.FEATURE_DISABLED: FeatureDisabled,
    FailureKind.EXPIRED: ResultExpired,
}


def refused_before_acceptance(exc: ProviderFailure) -> bool:
    """True when the failed call certainly created no remote job (so the job may go elsewhere).

    A timeout, a dropped connection or an unreadable answer may hide an accepted job: False.
    """
    return isinstance(exc, RefusedBeforeAcceptance | FatalFailure)
