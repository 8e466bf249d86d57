"""Transport: one set of credentials talking HTTP to the API.

Every call goes through `Transport.request` (the body), `Transport.request_body` (the body,
checked to be JSON but not decoded: the caller reads it its own way, after the call) or
`Transport.request_json` (the body and its JSON, decoded once); for the last two an empty body
is transient too. Each call carries the
subscription key and bearer token, waits its turn at the key's shared rate limiter
(`syncer.api.ratelimit`), maps statuses to the error tree (transient vs permanent) and is retried:
transient failures with exponential backoff and full jitter, 429s behind the limiter's pause, a
401 once with a fresh token, all within the call's deadline. Tokens that keep being refused end
in a CredentialsError, past a bound per call and per run. A 2xx body must be whole JSON or the
attempt counts as transient; a body past the size limit is refused as it is read. Bodies come
back as bytes so the caller can hash exactly what was received. Server-supplied text in errors
passes through the `Redactor`, and an error keeps the start of the body it came with. The
operations live in `syncer.api.client`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp
import orjson

from syncer.api import jsonread
from syncer.api.auth import Credentials, TokenProvider, token_lifetime
from syncer.api.ratelimit import Limits, RateLimiter
from syncer.errors import (
    DIAGNOSIS_BYTES,
    ApiError,
    AuthError,
    CredentialsError,
    PermanentApiError,
    RateLimited,
    TransientApiError,
)
from syncer.logs import get_logger
from syncer.redact import Redactor

log = get_logger(__name__)
T = TypeVar("T")


@dataclass
class ApiStats:
    """API calls by operation and HTTP status ('error' when no response came back).
    `observer`, if set, is told each request's operation, status and seconds (the service's
    metrics set it: this layer does not know them)."""

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    observer: Callable[[str, str, float], None] | None = None

    def record(self, operation: str, status: int | str, seconds: float | None = None) -> None:
        self.calls[(operation, str(status))] += 1
        if self.observer is not None and seconds is not None:
            self.observer(operation, str(status), seconds)
        per_run = run_stats.get()
        if per_run is not None and per_run is not self:
            per_run.calls[(operation, str(status))] += 1

    @property
    def throttled(self) -> int:
        return sum(n for (_, status), n in self.calls.items() if status == "429")

    def requests(self, operation: str) -> int:
        return sum(n for (op, _), n in self.calls.items() if op == operation)

    def as_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (op, status), n in sorted(self.calls.items()):
            out.setdefault(op, {})[status] = n
        return out


# The stats of the run in progress: every call made inside a run's tasks is counted there too.
run_stats: ContextVar[ApiStats | None] = ContextVar("run_stats", default=None)
# The deadline of the call in progress (Transport._attempts).
call_deadline: ContextVar[asyncio.Timeout | None] = ContextVar("call_deadline", default=None)
# Given a body's size: None to decode it now, or something to await first.
Admit = Callable[[int], Awaitable[None] | None]


def make_session(*, concurrency: int, verify_tls: bool = True) -> aiohttp.ClientSession:
    """The one HTTP session of the process."""
    if not verify_tls:
        log.warning("TLS certificate verification is OFF (api_verify_tls=false)")
    connector = aiohttp.TCPConnector(limit=concurrency * 2, ssl=verify_tls)
    return aiohttp.ClientSession(
        connector=connector, json_serialize=lambda o: orjson.dumps(o).decode()
    )


class Transport:
    """HTTP for one set of credentials: token, rate limit, retries, error mapping, stats.

    Every attempt of every call waits its turn at `limiter` (the token request too, though it
    takes no place among the requests in flight), which is shared with every other Transport
    using the same subscription key.
    """

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
        max_throttled: int = 30,
        backoff_base: float = 0.25,
        backoff_cap: float = 20.0,
        token_leeway_seconds: float = 120.0,
        token_refreshes_per_call: int = 5,
        token_refreshes_per_run: int = 100,
        call_deadline_seconds: float = 300.0,
        max_response_bytes: int = 32 * 2**20,
        limiter: RateLimiter | None = None,
        redactor: Redactor | None = None,
        stats: ApiStats | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._token_url = token_url
        self._scope = scope
        self._credentials = credentials
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._max_attempts = max_attempts
        self._max_throttled = max_throttled
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._refreshes_per_call = token_refreshes_per_call
        self._refreshes_per_run = token_refreshes_per_run
        self._call_deadline = call_deadline_seconds
        self._max_response_bytes = max_response_bytes
        self._lifetime_note: str | None = None  # what the last token answer's expires_in was
        self._noted: set[str] = set()  # lifetime notes already logged
        self._rng = rng or random.Random()
        # Without a configured limiter (tests, one-off scripts): no rate ceiling to speak of, but
        # the in-flight bound, the 429 pause and the decrease still apply.
        self.limiter = limiter or RateLimiter(
            Limits(rate=1000.0, burst=max_in_flight, max_in_flight=max_in_flight)
        )
        self.redactor = redactor or Redactor()
        self.redactor.add(credentials.client_secret.get_secret_value())
        self.redactor.add(credentials.subscription_key.get_secret_value())
        self.stats = stats or ApiStats()
        self.tokens = TokenProvider(self._fetch_token, leeway_seconds=token_leeway_seconds)

    async def request(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        check_json: bool = True,
        repeatable: bool = True,
        admit: Admit | None = None,
        nonempty: bool = False,
    ) -> bytes:
        """The body of a successful response; a typed ApiError once retries are exhausted.

        `repeatable=False` for a call that must not be made twice once it may have reached the
        API (placing an order): a timeout, a broken connection or a 5xx is raised at once, since
        the API may have acted on it. A 429 or a stale token's 401 is still retried: those are
        refusals, nothing was done. `check_json`: a body that is not JSON is transient (and
        retried), and with `nonempty` an empty one too."""

        async def send(token: str | None) -> bytes:
            assert token is not None
            body, _ = await self._send(
                operation, method, path, token, params, json_body,
                _checked if check_json else None, admit,
            )  # fmt: skip
            if nonempty and not body:
                raise TransientApiError(f"{operation}: empty body", operation=operation)
            return body

        return await self._attempts(operation, send, authenticated=True, repeatable=repeatable)

    async def request_body(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        admit: Admit | None = None,
    ) -> bytes:
        """The body of a successful answer, checked in the attempt to be whole JSON (not
        decoded: the caller reads it its own way): a body that is empty or not JSON is
        transient, and retried. `admit` is given a 2xx body's size before it is checked, and
        may make the call wait (a wait the call's deadline does not count): the caller holds a
        large body back until it has room for it."""
        return await self.request(
            operation, method, path, params=params, admit=admit, nonempty=True
        )

    async def request_json(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> tuple[bytes, Any]:
        """The body (to hash and keep) and its JSON, decoded once, in the attempt: a body that
        is empty or not JSON is transient, and retried."""

        async def send(token: str | None) -> tuple[bytes, Any]:
            assert token is not None
            body, data = await self._send(
                operation, method, path, token, params, json_body, jsonread.loads
            )
            if not body:
                raise TransientApiError(f"{operation}: empty body", operation=operation)
            return body, data

        return await self._attempts(operation, send, authenticated=True)

    async def _attempts(
        self,
        operation: str,
        send: Callable[[str | None], Awaitable[T]],
        *,
        authenticated: bool,
        repeatable: bool = True,
    ) -> T:
        """Retry policy, decided by the error's class alone (errors.py); every wait and attempt
        within the call's deadline."""
        deadline = asyncio.timeout(self._call_deadline)
        current = call_deadline.set(deadline)
        try:
            async with deadline:
                return await self._retried(operation, send, authenticated, repeatable)
        except TimeoutError as exc:
            if not deadline.expired():
                raise
            raise TransientApiError(
                f"{operation}: gave up after {self._call_deadline:g} s of waits and attempts "
                "(api_call_deadline_seconds)",
                operation=operation,
            ) from exc
        finally:
            call_deadline.reset(current)

    async def _retried(
        self,
        operation: str,
        send: Callable[[str | None], Awaitable[T]],
        authenticated: bool,
        repeatable: bool,
    ) -> T:
        failures = throttles = rejections = refreshes = 0
        proven = False  # a token refused in this call had worked before: the API knows us
        died: tuple[str, int, AuthError] | None = None  # the last token that died under us
        while True:
            token = await self.tokens.token() if authenticated else None
            if died is not None and self.tokens.served_after(died[0], died[1]):
                # While we waited for a new token, answers after ours accepted the one refused
                # to us: it did not die, this request was refused.
                raise died[2]
            delay = 0.0
            # The token request takes no place among the calls in flight: they may all be
            # waiting for it.
            async with self.limiter.slot(bounded=authenticated) as sent_at:
                if token is not None:
                    # We may have waited a while for our turn: if the token we hold has been
                    # replaced meanwhile, use the new one; if it was refused and its
                    # replacement is still on its way, queue again behind that refresh.
                    usable = self.tokens.usable()
                    if usable is None:
                        continue  # the refresh is shared: counted against the run, not the call
                    token = usable
                try:
                    result = await send(token)
                    if token is not None:
                        self.tokens.mark_served(token, self.tokens.answered())
                    return result
                except RateLimited as exc:
                    throttles += 1
                    if self.limiter.throttled(sent_at, exc.retry_after):
                        log.info(
                            "throttled (429): every call of this key pauses; rate lowered",
                            operation=operation,
                            pause_seconds=round(self.limiter.paused_for, 1),
                            rate_per_second=round(self.limiter.rate, 2),
                        )
                    if throttles > self._max_throttled:
                        raise
                    # No sleep of our own: the limiter now holds every caller of this key until
                    # Retry-After has passed, then lets them go one by one at the lowered rate.
                    # Repeated 429s lower the rate again each time: the backoff is exponential.
                except AuthError as exc:
                    # A 401 may only mean the token died early: refresh and try again, once.
                    # Again only if the token refused had been accepted before (it died
                    # mid-life, as tokens may); two fresh ones refused mean we are refused,
                    # and so is every other call: the run ends (CredentialsError).
                    rejections += 1
                    number = self.tokens.answered()
                    if token is None or isinstance(exc, CredentialsError):
                        raise
                    self.tokens.invalidate(token)
                    if self.tokens.has_served(token):
                        proven, died = True, (token, number, exc)
                        refreshes += 1
                        self._bound_refreshes(operation, refreshes, exc)
                    elif rejections > 1:
                        if proven:
                            raise  # a fresh token refused after one that worked: this call's
                        raise CredentialsError(
                            f"{exc}; refused again with a fresh token from "
                            f"{self._token_url}{self._lifetime_suffix()}",
                            status=exc.status, operation=operation, body=exc.body,
                        ) from exc  # fmt: skip
                except TransientApiError as exc:
                    failures += 1
                    if failures >= self._max_attempts or not repeatable:
                        raise
                    delay = full_jitter(failures, self._backoff_base, self._backoff_cap, self._rng)
                    log.debug(
                        "retrying", operation=operation, error=str(exc), attempt=failures,
                        retries=self._max_attempts - 1, delay_seconds=round(delay, 2),
                    )  # fmt: skip
            await asyncio.sleep(delay)  # outside the slot: a backing-off call is not in flight

    def _bound_refreshes(self, operation: str, refreshes: int, last: ApiError) -> None:
        """A call may see its token die under it (a 401 for a token that had worked)
        api_token_refreshes_per_call times: past that, this endpoint's tokens do not last long
        enough for another to be worth fetching."""
        if refreshes > self._refreshes_per_call:
            raise CredentialsError(
                f"{operation}: {refreshes} fresh tokens from {self._token_url} did not last one "
                f"call (api_token_refreshes_per_call = {self._refreshes_per_call})"
                f"{self._lifetime_suffix()} (last: {last})",
                operation=operation,
            )

    def _lifetime_suffix(self) -> str:
        return f"; {self._lifetime_note}" if self._lifetime_note else ""

    async def _send(
        self,
        operation: str,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        decode: Callable[[bytes], Any] | None,
        admit: Admit | None = None,
    ) -> tuple[bytes, Any]:
        headers = {
            "Ocp-Apim-Subscription-Key": self._credentials.subscription_key.get_secret_value(),
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        }
        url = self._base_url + path
        started = time.perf_counter()
        try:
            async with self._session.request(
                method, url, params=params, json=json_body, headers=headers, timeout=self._timeout
            ) as resp:
                status = resp.status
                content_type = resp.content_type
                # Only a refusal carries a Retry-After worth parsing (dates are slow to parse).
                retry_after = _retry_after(resp.headers) if status >= 300 else None
                body = await self._read(operation, resp)
        except PermanentApiError:  # a body past the size limit
            self.stats.record(operation, status, time.perf_counter() - started)
            raise
        except TimeoutError as exc:
            self.stats.record(operation, "timeout", time.perf_counter() - started)
            raise TransientApiError(f"{operation}: timed out", operation=operation) from exc
        except aiohttp.ClientError as exc:
            self.stats.record(operation, "error", time.perf_counter() - started)
            raise TransientApiError(
                f"{operation}: {type(exc).__name__}", operation=operation
            ) from exc
        elapsed = time.perf_counter() - started
        self.stats.record(operation, status, elapsed)
        if log.isEnabledFor(logging.DEBUG):  # the line is built for every call otherwise
            elapsed_ms = elapsed * 1000
            log.debug(
                "api request", operation=operation, method=method,
                path=f"{path}{_query(params)}", status=status, bytes=len(body),
                ms=round(elapsed_ms),
            )  # fmt: skip
        if status < 300:
            if decode is None or not body:
                return body, None
            if admit is not None:
                await _admitted(admit, len(body))
            try:
                return body, check_json_body(operation, status, content_type, body, decode)
            except ApiError as exc:
                exc.body = self._kept(body)
                raise
        raise self._error_for(operation, status, body, retry_after)

    async def _read(self, operation: str, resp: aiohttp.ClientResponse) -> bytes:
        """The body, refused (PermanentApiError) once it is past max_response_bytes: a body
        that large is never held whole. A refusal's body is read only as far as it is kept."""
        if resp.status >= 300:
            return (await read_at_most(resp.content, DIAGNOSIS_BYTES))[0]
        limit, length = self._max_response_bytes, resp.content_length
        if length is not None and length <= limit and not resp.headers.get("Content-Encoding"):
            return await resp.read()  # never more than Content-Length
        if length is not None and length > limit:
            head, _ = await read_at_most(resp.content, DIAGNOSIS_BYTES)
            raise self._too_big(operation, resp.status, f"{length:,} bytes", head)
        body, whole = await read_at_most(resp.content, limit)
        if not whole:
            raise self._too_big(operation, resp.status, f"over {limit:,} bytes", body)
        return body

    def _too_big(self, operation: str, status: int, size: str, head: bytes) -> PermanentApiError:
        return PermanentApiError(
            f"{operation}: HTTP {status} with a body of {size}, more than "
            f"api_max_response_bytes ({self._max_response_bytes:,})",
            status=status,
            operation=operation,
            body=self._kept(head),
        )

    def _kept(self, body: bytes) -> str | None:
        """The start of a failed answer's body, redacted, for a person to look at."""
        if not body:
            return None
        return self.redactor(body[:DIAGNOSIS_BYTES].decode("utf-8", errors="replace"))

    async def _fetch_token(self) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret.get_secret_value(),
            "scope": self._scope,
        }

        async def send(_: str | None) -> tuple[str, float]:
            self._bound_token_requests()
            started = time.perf_counter()
            try:
                async with self._session.post(
                    self._token_url, data=form, timeout=self._timeout
                ) as resp:
                    status, content_type = resp.status, resp.content_type
                    retry_after = _retry_after(resp.headers)
                    body = await self._read("token", resp)
            except PermanentApiError:  # a body past the size limit
                self.stats.record("token", status, time.perf_counter() - started)
                raise
            except TimeoutError as exc:
                self.stats.record("token", "timeout", time.perf_counter() - started)
                raise TransientApiError("token: timed out", operation="token") from exc
            except aiohttp.ClientError as exc:
                self.stats.record("token", "error", time.perf_counter() - started)
                raise TransientApiError(
                    f"token endpoint unreachable: {type(exc).__name__}", operation="token"
                ) from exc
            self.stats.record("token", status, time.perf_counter() - started)
            if status == 429 or status >= 500:
                raise self._error_for("token", status, body, retry_after)
            if status >= 300:
                # No call of the run can succeed without a token: it ends there.
                raise CredentialsError(
                    f"token endpoint refused the client credentials ({status} "
                    f"{self.redactor(_oauth_error(body))}): {self._token_url}",
                    status=status,
                    operation="token",
                )
            data = check_json_body("token", status, content_type, body)
            token = data.get("access_token") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise TransientApiError("token: response has no access_token", operation="token")
            self.redactor.add_token(token)
            lifetime, self._lifetime_note = token_lifetime(data.get("expires_in"))
            if self._lifetime_note and self._lifetime_note not in self._noted:
                self._noted.add(self._lifetime_note)
                log.warning(self._lifetime_note, token_url=self._token_url)
            return token, lifetime

        return await self._attempts("token", send, authenticated=False)

    def _bound_token_requests(self) -> None:
        """A run may ask for a token api_token_refreshes_per_run times: tokens refused or
        dying that often will not start working later in the run."""
        per_run = run_stats.get()
        if per_run is not None and per_run.requests("token") >= self._refreshes_per_run:
            raise CredentialsError(
                f"token endpoint {self._token_url}: {self._refreshes_per_run} token requests "
                "in this run (api_token_refreshes_per_run): its tokens are refused or expire "
                f"at once{self._lifetime_suffix()}",
                operation="token",
            )

    def _error_for(
        self, operation: str, status: int, body: bytes, retry_after: float | None
    ) -> ApiError:
        message = self.redactor(f"{operation}: HTTP {status} {_message(body)}".rstrip())
        if status == 429:
            return RateLimited(message, retry_after=retry_after, operation=operation)
        kept = self._kept(body)
        if status >= 500 or status == 408:
            return TransientApiError(message, status=status, operation=operation, body=kept)
        if status == 401:
            return AuthError(message, status=status, operation=operation, body=kept)
        return PermanentApiError(message, status=status, operation=operation, body=kept)


async def _admitted(admit: Admit, size: int) -> None:
    """Wait as `admit` says, with the call's deadline stopped meanwhile: it moves on by as long
    as the wait took."""
    wait = admit(size)
    if wait is None:
        return
    deadline = call_deadline.get()
    when = deadline.when() if deadline is not None else None
    if deadline is None or when is None:
        await wait
        return
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline.reschedule(None)
    try:
        await wait
    finally:
        deadline.reschedule(when + loop.time() - started)


def full_jitter(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base·2^attempt)]."""
    return rng.uniform(0, min(cap, base * 2**attempt))


async def read_at_most(content: aiohttp.StreamReader, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` bytes of a body as its chunks arrive, and whether that was all of it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in content.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:limit], False
    return b"".join(chunks), True


def check_json_body(
    operation: str,
    status: int,
    content_type: str,
    body: bytes,
    decode: Callable[[bytes], Any] = jsonread.loads,
) -> Any:
    """A 2xx body must be JSON, whole: a gateway page or a cut-off body is worth another try."""
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise TransientApiError(
            f"{operation}: expected JSON, got {content_type or 'no content type'}",
            status=status,
            operation=operation,
        )
    return parse_json(body, operation, decode)


def _query(params: Mapping[str, str] | None) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After in seconds; an HTTP date is measured from the response's own Date header
    (when there is one), so our clock's skew does not matter."""
    now = parse_http_date(headers.get("Date")) or datetime.now(UTC)
    return parse_retry_after(headers.get("Retry-After"), now)


def _checked(body: bytes) -> None:
    jsonread.check(body)


def parse_json(body: bytes, operation: str, decode: Callable[[bytes], Any] = jsonread.loads) -> Any:
    try:
        return decode(body)
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


def parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from `now`: Retry-After is delay-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        when = parse_http_date(value)
        return None if when is None else max(0.0, (when - now).total_seconds())
    return None if math.isnan(seconds) else max(0.0, seconds)  # inf: as long as allowed
