"""Transport: one set of credentials talking HTTP to the API, each call retried in its deadline.

Every call goes through `Transport.request` (the body), `Transport.request_body` (the body,
checked to be JSON but not decoded: the caller reads it its own way, after the call) or
`Transport.request_json` (its JSON, decoded once, in the attempt); for the last two an empty body
is transient too. Each attempt carries the subscription key and bearer token and waits its turn
at the key's shared rate limiter (`syncer.api.ratelimit`). Transient failures are retried with
exponential backoff and full jitter, 429s behind the limiter's pause, a 401 once with a fresh
token, all within the call's deadline; tokens that keep being refused end in a CredentialsError,
past a bound per call and per run. What an answer says (its body within the size limit, its
JSON, its Retry-After, the error its status maps to) is read by `syncer.api.answers`; tokens
are asked of `syncer.api.token_endpoint`; calls are counted in `syncer.api.stats`. Bodies come
back as bytes so the caller can hash exactly what was received. The operations live in
`syncer.api.client`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

import aiohttp
import orjson

from syncer.api import jsonread
from syncer.api.answers import (
    check_json_body,
    error_for,
    kept_body,
    read_body,
    retry_after_seconds,
)
from syncer.api.auth import Credentials, TokenProvider
from syncer.api.ratelimit import Limits, RateLimiter
from syncer.api.stats import ApiStats
from syncer.api.token_endpoint import TokenEndpoint
from syncer.errors import (
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
        self._credentials = credentials
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._max_attempts = max_attempts
        self._max_throttled = max_throttled
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._refreshes_per_call = token_refreshes_per_call
        self._call_deadline = call_deadline_seconds
        self._max_response_bytes = max_response_bytes
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
        self.token_endpoint = TokenEndpoint(
            session,
            url=token_url,
            scope=scope,
            credentials=credentials,
            timeout=self._timeout,
            requests_per_run=token_refreshes_per_run,
            max_response_bytes=max_response_bytes,
            redactor=self.redactor,
            stats=self.stats,
        )
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
                jsonread.check if check_json else None, admit,
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
    ) -> Any:
        """The answer's JSON, decoded once, in the attempt: a body that is empty or not JSON is
        transient, and retried."""

        async def send(token: str | None) -> Any:
            assert token is not None
            body, data = await self._send(
                operation, method, path, token, params, json_body, jsonread.loads
            )
            if not body:
                raise TransientApiError(f"{operation}: empty body", operation=operation)
            return data

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
                            f"{self.token_endpoint.url}{self.token_endpoint.lifetime_suffix()}",
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
                f"{operation}: {refreshes} fresh tokens from {self.token_endpoint.url} did not "
                f"last one call (api_token_refreshes_per_call = {self._refreshes_per_call})"
                f"{self.token_endpoint.lifetime_suffix()} (last: {last})",
                operation=operation,
            )

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
                retry_after = retry_after_seconds(resp.headers) if status >= 300 else None
                body = await read_body(operation, resp, self._max_response_bytes, self.redactor)
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
                exc.body = kept_body(body, self.redactor)
                raise
        raise error_for(operation, status, body, retry_after, self.redactor)

    async def _fetch_token(self) -> tuple[str, float]:
        return await self._attempts("token", self.token_endpoint.request, authenticated=False)


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


def _query(params: Mapping[str, str] | None) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
