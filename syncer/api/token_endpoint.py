"""The OAuth2 token endpoint: one request for a client-credentials token, and its answer read.

Kept apart from the transport, which retries these requests as it retries every call (through
its limiter and within a deadline) and caches the tokens (`syncer.api.auth.TokenProvider`). A
refusal of the credentials ends the run (CredentialsError), as does asking too often in one run;
an `expires_in` that makes no sense is logged once and replaced (`syncer.api.auth`).
"""

from __future__ import annotations

import time

import aiohttp

from syncer.api.answers import (
    check_json_body,
    error_for,
    oauth_error,
    read_body,
    retry_after_seconds,
)
from syncer.api.auth import Credentials, token_lifetime
from syncer.api.stats import ApiStats, run_stats
from syncer.errors import CredentialsError, PermanentApiError, TransientApiError
from syncer.logs import get_logger
from syncer.redact import Redactor

log = get_logger(__name__)


class TokenEndpoint:
    """Asks `url` for a token with the client credentials: one attempt per `request`."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        url: str,
        scope: str,
        credentials: Credentials,
        timeout: aiohttp.ClientTimeout,
        requests_per_run: int,
        max_response_bytes: int,
        redactor: Redactor,
        stats: ApiStats,
    ) -> None:
        self.url = url
        self._session = session
        self._timeout = timeout
        self._requests_per_run = requests_per_run
        self._max_response_bytes = max_response_bytes
        self._redactor = redactor
        self._stats = stats
        self._form = {
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret.get_secret_value(),
            "scope": scope,
        }
        self._lifetime_note: str | None = None  # what the last token answer's expires_in was
        self._noted: set[str] = set()  # lifetime notes already logged

    def lifetime_suffix(self) -> str:
        """What the last answer's expires_in was, if odd, for an error about dying tokens."""
        return f"; {self._lifetime_note}" if self._lifetime_note else ""

    async def request(self, _: str | None) -> tuple[str, float]:
        """A token and its lifetime in seconds; an ApiError as the transport's calls raise.
        The argument is the (absent) bearer token every attempt of the transport is given."""
        self._bound_requests()
        started = time.perf_counter()
        try:
            async with self._session.post(self.url, data=self._form, timeout=self._timeout) as resp:
                status, content_type = resp.status, resp.content_type
                retry_after = retry_after_seconds(resp.headers)
                body = await read_body("token", resp, self._max_response_bytes, self._redactor)
        except PermanentApiError:  # a body past the size limit
            self._stats.record("token", status, time.perf_counter() - started)
            raise
        except TimeoutError as exc:
            self._stats.record("token", "timeout", time.perf_counter() - started)
            raise TransientApiError("token: timed out", operation="token") from exc
        except aiohttp.ClientError as exc:
            self._stats.record("token", "error", time.perf_counter() - started)
            raise TransientApiError(
                f"token endpoint unreachable: {type(exc).__name__}", operation="token"
            ) from exc
        self._stats.record("token", status, time.perf_counter() - started)
        if status == 429 or status >= 500:
            raise error_for("token", status, body, retry_after, self._redactor)
        if status >= 300:
            # No call of the run can succeed without a token: it ends there.
            raise CredentialsError(
                f"token endpoint refused the client credentials ({status} "
                f"{self._redactor(oauth_error(body))}): {self.url}",
                status=status,
                operation="token",
            )
        data = check_json_body("token", status, content_type, body)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise TransientApiError("token: response has no access_token", operation="token")
        self._redactor.add_token(token)
        lifetime, self._lifetime_note = token_lifetime(data.get("expires_in"))
        if self._lifetime_note and self._lifetime_note not in self._noted:
            self._noted.add(self._lifetime_note)
            log.warning(self._lifetime_note, token_url=self.url)
        return token, lifetime

    def _bound_requests(self) -> None:
        """A run may ask for a token api_token_refreshes_per_run times: tokens refused or
        dying that often will not start working later in the run."""
        per_run = run_stats.get()
        if per_run is not None and per_run.requests("token") >= self._requests_per_run:
            raise CredentialsError(
                f"token endpoint {self.url}: {self._requests_per_run} token requests "
                "in this run (api_token_refreshes_per_run): its tokens are refused or expire "
                f"at once{self.lifetime_suffix()}",
                operation="token",
            )
