"""The exceptions of a copy into S3, with what the caller should do about each.

::

    StorageError                 root; ``retryable`` says whether the same copy may succeed later
    ├── S3Unavailable            S3 unreachable, timed out, 5xx or throttling: retry
    ├── S3Refused                S3 said no (access denied, no such bucket, bad request): fatal
    ├── SourceUnavailable        the output URL answered 5xx/429 or the connection failed: retry
    ├── IncompleteDownload       fewer (or more) bytes than Content-Length, or none: retry
    ├── SourceGone               the output URL answered any other 4xx (404/410, or 401/403
    │                            from an expired signed URL): the job ends EXPIRED
    ├── DeadlinePassed           the copy cannot finish before the output expires: EXPIRED
    └── UnsafeOutput             the output URL points inside the network, is larger than the
                                 cap, or is not a video: the job ends FAILED, naming the host

Messages name URLs without their query string (signatures and tokens live there) and never
carry credentials.
"""

from __future__ import annotations


class StorageError(Exception):
    """Root of the tree: a copy into S3 did not finish. ``retry_after`` is a hint in seconds."""

    retryable: bool = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class S3Unavailable(StorageError):
    """S3 could not be reached or answered 5xx/throttling; the same call may work later."""


class S3Refused(StorageError):
    """S3 refused the request for a reason retrying cannot fix (credentials, bucket, input)."""

    retryable = False


class SourceUnavailable(StorageError):
    """The output URL failed in a way that may pass (5xx, 429, connection error, timeout)."""


class IncompleteDownload(StorageError):
    """The body ended before (or ran past) its Content-Length, or was empty."""


class SourceGone(StorageError):
    """The output URL no longer serves the file: the provider's retention has passed."""

    retryable = False


class DeadlinePassed(StorageError):
    """The copy cannot finish before the output expires."""

    retryable = False


class UnsafeOutput(StorageError):
    """The output was refused: its URL (or a redirect) points where restyle never fetches, it
    is larger than the cap, or its bytes are not a video. The message names the host."""

    retryable = False
