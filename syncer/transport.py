"""Transport: one set of credentials talking HTTP to the API.

Every call goes through `Transport.request`, which adds the subscription key and bearer token,
bounds the requests in flight, maps statuses to the error tree (transient vs permanent) and
retries transient failures with exponential backoff and full jitter. Bodies come back as bytes
so the caller can hash exactly what was received. The operations live in `syncer.client`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from syncer.auth import Credentials, TokenProvider
from syncer.errors import (
    ApiError,
    AuthError,
    PermanentApiError,
    RateLimited,
    TransientApiError,
    is_transient,
)

log = logging.getLogger(__name__)


@dataclass
class ApiStats:
    """API calls by operation and HTTP status ('error' when no response came back)."""

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)

    def record(self, operation: str, status: int | str) -> None:
        self.calls[(operation, str(status))] += 1
        per_run = run_stats.get()
        if per_run is not None and per_run is not self:
            per_run.calls[(operation, str(status))] += 1

    @property
    def throttled(self) -> int:
        return sum(n for (_, status), n in self.calls.items() if status == "429")

    def as_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (op, status), n in sorted(self.calls.items()):
            out.setdefault(op, {})[status] = n
        return out


# The stats of the run in progress: every call made inside a run's tasks is counted there too.
run_stats: ContextVar[ApiStats | None] = ContextVar("run_stats", default=None)


def make_session(*, concurrency: int, verify_tls: bool = True) -> aiohttp.ClientSession:
    """The one HTTP session of the process."""
    if not verify_tls:
        log.warning("TLS certificate verification is OFF (api_verify_tls=false)")
    connector = aiohttp.TCPConnector(limit=concurrency * 2, ssl=verify_tls)
    return aiohttp.ClientSession(
        connector=connector, json_serialize=lambda o: orjson.dumps(o).decode()
    )


class Transport:
    """HTTP for one set of credentials: token, limits, retries, error mapping, stats."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        token_url: str,
        scope: str,
        credentials: Credentials,
        timeout_seconds: float = 30.0,
        max_in_flight: int = 16,
        max_attempts: int = 5,
        backoff_base: float = 0.25,
        backoff_cap: float = 20.0,
        stats: ApiStats | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._token_url = token_url
        self._scope = scope
        self._credentials = credentials
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self.stats = stats or ApiStats()
        self.tokens = TokenProvider(self._fetch_token)

    async def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        check_json: bool = True,
    ) -> bytes:
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            token = await self.tokens.token()
            try:
                return await self._send(
                    operation, method, path, token, params, json_body, check_json
                )
            except AuthError:
                if refreshed:
                    raise
                # A 401 may only mean our token expired early: refresh once and try again.
                refreshed = True
                self.tokens.invalidate(token)
            except ApiError as exc:
                if not is_transient(exc) or attempt >= self._max_attempts:
                    raise
                await asyncio.sleep(self._backoff(attempt, exc))

    def _backoff(self, attempt: int, exc: ApiError) -> float:
        delay = random.uniform(0, min(self._backoff_cap, self._backoff_base * 2**attempt))
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        return delay

    async def _send(
        self,
        operation: str,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        check_json: bool,
    ) -> bytes:
        headers = {
            "Ocp-Apim-Subscription-Key": self._credentials.subscription_key.get_secret_value(),
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        }
        async with self._in_flight:
            try:
                async with self._session.request(
                    method,
                    self._base_url + path,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=self._timeout,
                ) as resp:
                    body = await resp.read()
                    status = resp.status
                    content_type = resp.content_type
                    retry_after = resp.headers.get("Retry-After")
            except TimeoutError as exc:
                self.stats.record(operation, "timeout")
                raise TransientApiError(f"{operation}: timed out", operation=operation) from exc
            except aiohttp.ClientError as exc:
                self.stats.record(operation, "error")
                raise TransientApiError(
                    f"{operation}: {type(exc).__name__}", operation=operation
                ) from exc
        self.stats.record(operation, status)
        log.debug("%s %s %s → %s", operation, method, path, status)
        if status < 300:
            if check_json and body and content_type != "application/json":
                raise TransientApiError(
                    f"{operation}: expected JSON, got {content_type}",
                    status=status,
                    operation=operation,
                )
            return body
        raise _error_for(operation, status, body, retry_after)

    async def _fetch_token(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret.get_secret_value(),
            "scope": self._scope,
        }
        for attempt in range(1, self._max_attempts + 1):
            try:
                async with self._session.post(
                    self._token_url, data=form, timeout=self._timeout
                ) as resp:
                    body = await resp.read()
                    self.stats.record("token", resp.status)
                    if resp.status < 300:
                        data = parse_json(body, "token")
                        return str(data["access_token"]), float(data.get("expires_in", 3599))
                    if resp.status < 500 and resp.status != 429:
                        raise AuthError(
                            f"token endpoint refused the client credentials ({resp.status} "
                            f"{_oauth_error(body)})",
                            status=resp.status,
                            operation="token",
                        )
            except (TimeoutError, aiohttp.ClientError, KeyError, TransientApiError) as exc:
                self.stats.record("token", "error")
                if attempt >= self._max_attempts:
                    raise TransientApiError(
                        f"token endpoint unreachable: {type(exc).__name__}", operation="token"
                    ) from exc
            await asyncio.sleep(
                random.uniform(0, min(self._backoff_cap, self._backoff_base * 2**attempt))
            )
        raise TransientApiError("token endpoint kept failing", operation="token")


def parse_json(body: bytes, operation: str) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise TransientApiError(
            f"{operation}: body is not valid JSON", operation=operation
        ) from exc


def _message(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:200].decode("utf-8", errors="replace")
    if isinstance(data, dict):
        for key in ("message", "Message", "error_description", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])[:300]
    return ""


def _oauth_error(body: bytes) -> str:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return "no error code"
    return str(data.get("error", "no error code")) if isinstance(data, dict) else "no error code"


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_for(operation: str, status: int, body: bytes, retry_after: str | None) -> ApiError:
    message = f"{operation}: HTTP {status} {_message(body)}".rstrip()
    if status == 429:
        return RateLimited(message, retry_after=parse_retry_after(retry_after), operation=operation)
    if status >= 500 or status == 408:
        return TransientApiError(message, status=status, operation=operation)
    if status == 401:
        return AuthError(message, status=status, operation=operation)
    return PermanentApiError(message, status=status, operation=operation)
