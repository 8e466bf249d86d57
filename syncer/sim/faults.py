"""Fault injection: an aiohttp middleware in front of every route of the simulator.

What it does per request, in APIM's order: the per-key rate limit (429 + Retry-After + APIM's
body), early token expiry (401), then at most one of: a 5xx, a 400 echoing the request's
credentials, a hang, a connection reset, a slow, truncated, malformed, HTML or chunked body, a
body echoing the credentials; on list and detail answers the §10 payload quirks of the order
(syncer.sim.quirks); on token answers the expires_in asked for, and tokens that die at once.
Every decision is a pure function of the seed, the request (method, path, query, and how many
times that same request was made) and the fault's name, so a run is repeatable whatever order
concurrent requests arrive in. `injected` counts faults by kind.

Settings live on `FaultInjector.config` and may be swapped on a running simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import TYPE_CHECKING, NamedTuple

import orjson
from aiohttp import web

from syncer.sim import quirks
from syncer.sim.faultconfig import BODY_FAULTS, FaultConfig

if TYPE_CHECKING:
    from syncer.sim.simulator import Simulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The APIM policy's answer to a bearer it does not accept (the same text as a missing token).
TOKEN_REJECTED = "Unauthorized! Access token is missing or invalid."
QUIRK_OPERATIONS = frozenset({"list", "detail"})
_ERROR_BODIES = {
    500: {"Message": "An error has occurred."},
    502: {"statusCode": 502, "message": "Bad Gateway"},
    503: {"statusCode": 503, "message": "Service Unavailable"},
    504: {"statusCode": 504, "message": "Gateway Timeout"},
}
_GATEWAY_PAGE = (
    b"<!DOCTYPE html><html><head><title>Service temporarily unavailable</title></head>"
    b"<body><h1>Our services aren't available right now</h1></body></html>"
)


LATEST_DATE = 253_402_300_799  # 9999-12-31 23:59:59 UTC
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
JOURNAL_SIZE = 100_000
SEEN_SIZE = 200_000


class Arrival(NamedTuple):
    """One API request as the gateway saw it: when (monotonic seconds), which key, what answer."""

    at: float
    key: str
    status: int


def _json(body: object, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


class _Bucket:
    """The server's side of a rate limit: tokens refill at `rate` up to `burst`."""

    def __init__(self, burst: int, now: float) -> None:
        self.tokens = float(burst)
        self.updated_at = now

    def take(self, rate: float, burst: int, now: float) -> float:
        """0 if a token was taken, else the seconds until one will be there."""
        self.tokens = min(float(burst), self.tokens + (now - self.updated_at) * rate)
        self.updated_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate


class FaultInjector:
    """Decides and counts the faults of one simulator; `config` may be replaced at any time."""

    def __init__(
        self, config: FaultConfig, seed: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.injected: Counter[str] = Counter()
        self._data_seed = seed
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        # How many times each distinct request was made (bounded: a retry follows soon after).
        self._seen: OrderedDict[str, int] = OrderedDict()
        self._token_uses: Counter[str] = Counter()
        self._revoked: set[str] = set()
        # The last API requests, while any fault is configured: lets a test check what reached
        # the server during a pause, and the benchmark count requests as the server saw them.
        self.journal: deque[Arrival] = deque(maxlen=JOURNAL_SIZE)

    @property
    def seed(self) -> int:
        return self._data_seed if self.config.seed is None else self.config.seed

    def revoke(self, token: str) -> None:
        """Make the API refuse `token` from now on, before its exp (as Azure AD may)."""
        self._revoked.add(token)

    def quirks_of(self, order_number: str) -> frozenset[str]:
        c = self.config
        return quirks.picks(self.seed, order_number, c.quirk_rate, c.quirks)

    @property
    def long_text(self) -> tuple[float, int]:
        """What decides the long memos: part of the keys of the simulator's cached views."""
        return self.config.long_text_rate, self.config.long_text_chars

    def long_memo(self, order_number: str) -> str | None:
        """The long unicode memo replacing this order's memo, if it is one of the chosen."""
        rate, chars = self.long_text
        if rate > 0 and quirks.chance(self.seed, "long_text", order_number) < rate:
            return quirks.long_memo(self.seed, order_number, chars)
        return None

    def list_page(self, page: int) -> int:
        """The page a list request for `page` is answered with, under the paging faults."""
        c = self.config
        served = 1 if c.list_ignores_page else (page + 1) // 2 if c.list_repeats_pages else page
        if served != page:
            self.injected["list_ignores_page" if c.list_ignores_page else "list_repeats_pages"] += 1
        return served

    def middleware(
        self, sim: Simulator, base_path: str
    ) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not self.config.active and not self._revoked:
                response = await handler(request)
            else:
                arrived = self._clock()
                response = await self._inject(sim, base_path, request, handler)
                if request.path.lower().startswith(base_path + "/"):
                    key = request.headers.get("Ocp-Apim-Subscription-Key", "")
                    self.journal.append(Arrival(arrived, key, response.status))
            if response.status < 300 and request.path.lower().startswith(base_path + "/"):
                # Counted even while no fault is on, so that one switched on later knows.
                self._token_uses[_bearer(request)] += 1
            return response

        return inject

    async def _inject(
        self, sim: Simulator, base_path: str, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        c = self.config
        path = request.path.rstrip("/").lower()
        api = path.startswith(base_path + "/")
        who = f"{request.method} {path}?{sorted(request.query.items())}"
        nth = self._seen.pop(who, 0) + 1
        self._seen[who] = nth  # most recent last, so the oldest is dropped first
        if len(self._seen) > SEEN_SIZE:
            self._seen.popitem(last=False)

        op = path[len(base_path) + 1 :].split("/")[0] if api else "token"
        targeted = not c.only or op in c.only

        def hit(kind: str, rate: float, *, count: bool = True) -> bool:
            if rate > 0 and targeted and quirks.chance(self.seed, kind, who, nth) < rate:
                self.injected[kind] += count
                return True
            return False

        if api:
            key = request.headers.get("Ocp-Apim-Subscription-Key", "")
            if c.rate_limit > 0 and sim.subscription_for_key(key) is not None:
                bucket = self._buckets.setdefault(key, _Bucket(c.burst, self._clock()))
                wait = bucket.take(c.rate_limit, c.burst, self._clock())
                if wait > 0:
                    self.injected["rate_limit"] += 1
                    return self._throttled(wait)
            token = _bearer(request)
            if token:
                if token in self._revoked:
                    return _json({"statusCode": 401, "message": TOKEN_REJECTED}, 401)
                # Only a token that has already been answered with a 2xx dies early: the
                # fresh one a client fetches after the 401 works, as it would at Azure AD.
                if self._token_uses[token] > 0 and hit("token_expiry", c.token_expiry_rate):
                    self._revoked.add(token)
                    return _json({"statusCode": 401, "message": TOKEN_REJECTED}, 401)

        if hit("error", c.error_rate):
            status = (500, 502, 503, 504)[int(quirks.chance(self.seed, "status", who, nth) * 4)]
            return _json(_ERROR_BODIES[status], status)
        if hit("echo_error", c.echo_error_rate):
            headers = _echoed(request)
            shown = "; ".join(f"{k}: {v}" for k, v in headers.items())
            return _json({"statusCode": 400, "message": f"Bad Request ({shown})",
                          "request": {"headers": headers}}, 400)  # fmt: skip
        if hit("hang", c.hang_rate) and not await _hang(request, c.hang_seconds):
            return web.Response(status=504)  # nobody is listening any more
        # Decided before the handler runs, so the dice do not depend on its answer; counted
        # once applied (an error answer keeps its body).
        body_fault = next(
            (k for k in BODY_FAULTS if hit(k, getattr(c, f"{k}_rate"), count=False)), None
        )

        response = await handler(request)
        if not isinstance(response, web.Response) or response.status != 200:
            return response
        if not api and (c.token_expires_in or c.token_dies_at_once):
            self._token_answer(response)
        body = response.body
        if not isinstance(body, bytes) or response.content_type != "application/json":
            return response
        if api and op in QUIRK_OPERATIONS and c.quirk_rate > 0:
            body = self._quirky(body)
            response.body = body
        if body_fault is None:
            return response
        self.injected[body_fault] += 1
        return await self._broken(request, response, body, body_fault, nth)

    def _token_answer(self, response: web.Response) -> None:
        """The token answer as the fault asks: its expires_in replaced, its token dead."""
        c = self.config
        answer = orjson.loads(response.body)  # type: ignore[arg-type]
        if c.token_dies_at_once:
            self.injected["token_dies_at_once"] += 1
            self._revoked.add(answer["access_token"])
        if not c.token_expires_in:
            return
        self.injected["token_expires_in"] += 1
        answer.pop("expires_in", None)
        body = orjson.dumps(answer)
        if c.token_expires_in != "none":
            # A JSON number goes as written, even one no double holds (1e400); the rest as text.
            text = c.token_expires_in
            value = text.encode() if _JSON_NUMBER.fullmatch(text) else orjson.dumps(text)
            body = body[:-1] + b',"expires_in":' + value + b"}"
        response.body = body

    def _throttled(self, wait: float) -> web.Response:
        c = self.config
        seconds = c.retry_after_seconds or max(1.0, float(math.ceil(wait)))
        whole = max(1, math.ceil(seconds)) if math.isfinite(seconds) else LATEST_DATE
        response = _json(
            {
                "statusCode": 429,
                "message": f"Rate limit is exceeded. Try again in {whole} seconds.",
            },
            429,
        )
        if c.retry_after == "seconds":
            response.headers["Retry-After"] = f"{seconds:g}"
        elif c.retry_after == "date":
            when = min(time.time() + whole, LATEST_DATE)  # an HTTP date ends with year 9999
            response.headers["Retry-After"] = formatdate(when, usegmt=True)
        return response

    def _quirky(self, body: bytes) -> bytes:
        payload = orjson.loads(body)
        if isinstance(payload, list):
            shown = [self._quirk_one(row) for row in payload]
            escape = any("ascii_escapes" in self.quirks_of(_number(r)) for r in payload)
            return quirks.dumps(shown, escape)
        if isinstance(payload, dict):
            chosen = self.quirks_of(_number(payload))
            return quirks.dumps(self._quirk_one(payload), "ascii_escapes" in chosen)
        return body

    def _quirk_one(self, row: object) -> object:
        if not isinstance(row, dict):
            return row
        chosen = self.quirks_of(_number(row))
        if chosen:
            self.injected.update(f"quirk:{q}" for q in chosen)
        return quirks.apply(row, chosen)

    async def _broken(
        self, request: web.Request, response: web.Response, body: bytes, kind: str, nth: int
    ) -> web.StreamResponse:
        if kind == "truncate":
            cut = quirks.chance(self.seed, "cut", request.path_qs, nth)
            response.body = body[: max(1, int(len(body) * (0.1 + 0.8 * cut)))]
        elif kind == "malformed":
            response.body = body[:1] + b",," + body[1:]
        elif kind == "html":
            response.body = _GATEWAY_PAGE
            response.content_type = "text/html"
        elif kind in ("echo_detail", "echo_broken"):
            response.body = _with_echo(body, _echoed(request), broken=kind == "echo_broken")
        else:
            return await _stream(request, response, body, kind, self.config.slow_seconds)
        return response


def _echoed(request: web.Request) -> dict[str, str]:
    """The request's credentials, as a gateway's debug echo shows them."""
    names = ("Ocp-Apim-Subscription-Key", "Authorization")
    return {name: request.headers[name] for name in names if name in request.headers}


def _with_echo(body: bytes, headers: dict[str, str], *, broken: bool) -> bytes:
    """A detail carrying `headers`: in an extra field the models ignore, or (`broken`) in place
    of its lines, which then cannot be read. Anything but an object is left as it is."""
    payload = orjson.loads(body)
    if not isinstance(payload, dict):
        return body
    if broken:
        payload["SalesOrderLines"] = "; ".join(f"{k}: {v}" for k, v in headers.items())
    else:
        payload["RequestHeaders"] = headers
    return orjson.dumps(payload)


def _bearer(request: web.Request) -> str:
    return request.headers.get("Authorization", "").partition(" ")[2].strip()


def _number(row: object) -> str:
    if isinstance(row, dict):
        n = row.get("SalesOrderNumber") or row.get("OrderNumber")
        return n if isinstance(n, str) else ""
    return ""


async def _hang(request: web.Request, seconds: float) -> bool:
    """Sit on the request for `seconds`; False if the client gave up and hung up meanwhile."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        transport = request.transport
        if transport is None or transport.is_closing():
            return False
        await asyncio.sleep(min(0.05, left))
    return True


async def _stream(
    request: web.Request, response: web.Response, body: bytes, kind: str, seconds: float
) -> web.StreamResponse:
    """A body sent in pieces: slowly (`slow`), chunked with no Content-Length (`chunked`), or
    half of it and then the connection drops (`reset`)."""
    out = web.StreamResponse(status=response.status)
    out.content_type = response.content_type
    if kind == "chunked":
        out.enable_chunked_encoding()
    else:
        out.content_length = len(body)
    with contextlib.suppress(ConnectionError):
        await out.prepare(request)
        if kind == "reset":
            await out.write(body[: len(body) // 2])
            if request.transport is not None:
                request.transport.abort()  # as a proxy whose upstream died would
            return out
        pieces = 8
        step = max(1, math.ceil(len(body) / pieces))
        for i in range(0, len(body), step):
            await out.write(body[i : i + step])
            if kind == "slow":
                await asyncio.sleep(seconds / pieces)
        await out.write_eof()
    return out
