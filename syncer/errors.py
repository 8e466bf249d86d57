"""The exception tree. Every error the syncer raises on purpose is a SyncerError.

    SyncerError
    ├── ConfigError            bad or missing settings (one readable line per problem)
    ├── DatabaseError          database unreachable, or migrations not current
    ├── PayloadError           a payload we cannot turn into rows (recorded in sync_failures)
    └── ApiError               anything the API did; carries status and operation, never secrets
        ├── TransientApiError  worth retrying: 429, 5xx, timeouts, resets, broken bodies, a
        │   │                  call past its deadline
        │   └── RateLimited    429 with the server's Retry-After
        └── PermanentApiError  never retried: other 4xx, a body over the size limit
            └── AuthError      credentials refused: the token endpoint said no, or a 401
                │              that a fresh token did not cure
                └── CredentialsError  no bearer token works (refused, or dying at once, beyond
                                      the bounds on refreshes): ends the run, whose every call
                                      would fail the same way

Retry is decided by the class alone (`is_transient`), never by inspecting messages. An ApiError
may carry the body the API answered (`body`: redacted, cut to `DIAGNOSIS_BYTES`), kept with the
failed order for a person to look at.
"""

from __future__ import annotations


class SyncerError(Exception):
    """Root of every error the syncer raises on purpose."""


class ConfigError(SyncerError):
    """Settings are missing or invalid."""


class DatabaseError(SyncerError):
    """The database is unreachable, or its schema is not what this version expects."""


class PayloadError(SyncerError):
    """A payload that cannot be turned into warehouse rows."""


DIAGNOSIS_BYTES = 64 * 1024  # of a failed answer's body, kept for diagnosis


class ApiError(SyncerError):
    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        operation: str = "",
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.operation = operation
        self.body = body


class TransientApiError(ApiError):
    """A failure that may succeed if tried again."""


class RateLimited(TransientApiError):
    def __init__(self, message: str, *, retry_after: float | None, operation: str = "") -> None:
        super().__init__(message, status=429, operation=operation)
        self.retry_after = retry_after


class PermanentApiError(ApiError):
    """A failure that will not change if tried again."""


class AuthError(PermanentApiError):
    """The API refused our credentials."""


class CredentialsError(AuthError):
    """No bearer token works, within the bounds on refreshes: the sync ends the run on it."""


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TransientApiError)
