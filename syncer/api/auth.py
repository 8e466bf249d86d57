"""OAuth2 client-credentials token cache: refreshed ahead of expiry, one refresh at a time."""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import SecretStr


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: SecretStr
    subscription_key: SecretStr

    def __repr__(self) -> str:  # never print secrets, even in a debugger or a traceback
        return f"Credentials(client_id={self.client_id!r}, client_secret=***, subscription_key=***)"


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # on the provider's clock
    refresh_at: float  # when to fetch the next one: `leeway` before expiry

    def __repr__(self) -> str:
        return f"Token(***, expires_at={self.expires_at})"


FetchToken = Callable[[], Awaitable[tuple[str, float]]]  # → (access_token, lifetime seconds)

# The lifetime a token answer's `expires_in` stands for. Below the floor (0, negative) a token
# would be due for refresh before it could be used twice; past the ceiling (1e12, inf) it would
# never be; missing or unreadable, the usual lifetime of Azure AD's tokens is assumed. A token
# that dies earlier than planned is replaced on the API's 401.
MIN_LIFETIME = 60.0
MAX_LIFETIME = 86_400.0
DEFAULT_LIFETIME = 3599.0


def token_lifetime(expires_in: object) -> tuple[float, str | None]:
    """Seconds to plan a token's life with, from its `expires_in`; and, when that value was out
    of range or unreadable, a note saying what was assumed instead."""
    if isinstance(expires_in, int | float | str) and not isinstance(expires_in, bool):
        try:
            seconds = float(expires_in)
        except ValueError:
            seconds = math.nan
    else:
        seconds = math.nan
    if math.isnan(seconds):
        what = "no expires_in" if expires_in is None else f"expires_in {str(expires_in)[:40]!r}"
        return DEFAULT_LIFETIME, f"{what}: {DEFAULT_LIFETIME:g} s assumed"
    if seconds < MIN_LIFETIME:
        return MIN_LIFETIME, f"expires_in {seconds:g} taken as {MIN_LIFETIME:g} s"
    if seconds > MAX_LIFETIME:
        return MAX_LIFETIME, f"expires_in {seconds:g} taken as {MAX_LIFETIME:g} s"
    return seconds, None


class TokenProvider:
    """Caches a bearer token, refreshed `leeway_seconds` before it expires.

    Single flight: however many callers find the token stale at once, one refresh runs and they
    all await it, sharing its token or its error (a failing token endpoint is asked once per
    flight, not once per waiting worker).
    """

    def __init__(
        self,
        fetch: FetchToken,
        *,
        leeway_seconds: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._leeway = leeway_seconds
        self._clock = clock
        self._token: Token | None = None
        self._flight: asyncio.Future[Token] | None = None
        # Tokens the API has accepted (the most recent 16), each with the number of the latest
        # answer that accepted it: answers are numbered as they arrive (`answered`), since the
        # API may answer a request sent later before it refuses one sent earlier.
        self._served: OrderedDict[str, int] = OrderedDict()
        self._numbers = itertools.count()
        self.refreshes = 0

    def _fresh(self, token: Token | None) -> bool:
        return token is not None and self._clock() < token.refresh_at

    async def token(self) -> str:
        if self._token is not None and self._fresh(self._token):
            return self._token.value
        if self._flight is None:
            self._flight = asyncio.ensure_future(self._refresh())
            # Retrieve the outcome even if every caller was cancelled meanwhile.
            self._flight.add_done_callback(lambda f: f.cancelled() or f.exception())
        # shield: a caller cancelled while waiting must not cancel the others' refresh.
        return (await asyncio.shield(self._flight)).value

    async def _refresh(self) -> Token:
        try:
            value, expires_in = await self._fetch()
            now = self._clock()
            # A lifetime shorter than the leeway would make every call refresh: use half of it.
            leeway = min(self._leeway, expires_in / 2)
            self._token = Token(value, now + expires_in, now + expires_in - leeway)
            self.refreshes += 1
            return self._token
        finally:
            self._flight = None

    def usable(self) -> str | None:
        """The token to send now, never fetching: the latest one, unless it was refused, or it
        has expired and has already been used (a token is always used once, however short its
        life: the call it was fetched for gets to send it). None: a refresh is due."""
        token = self._token
        if token is None:
            return None
        if self._clock() < token.expires_at or token.value not in self._served:
            return token.value
        return None

    def answered(self) -> int:
        """The number of an answer just received to a request sent with a token."""
        return next(self._numbers)

    def mark_served(self, value: str, request: int) -> None:
        """The API accepted `value` in answer number `request`: a later 401 for it means it
        died (or refused that one request), not that we are refused."""
        self._served[value] = max(request, self._served.pop(value, request))
        if len(self._served) > 16:
            self._served.popitem(last=False)

    def has_served(self, value: str) -> bool:
        return value in self._served

    def served_after(self, value: str, request: int) -> bool:
        """Whether `value` was accepted in an answer received after answer number `request` (a
        401): then it is alive, and that 401 was about its request, not the token."""
        return self._served.get(value, -1) > request

    def invalidate(self, rejected: str) -> None:
        """Drop the token the server refused, unless it has already been replaced."""
        if self._token is not None and self._token.value == rejected:
            self._token = None
