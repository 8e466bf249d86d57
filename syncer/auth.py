"""OAuth2 client-credentials token cache: refreshed ahead of expiry, one refresh at a time."""

from __future__ import annotations

import asyncio
import time
from collections import deque
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


FetchToken = Callable[[], Awaitable[tuple[str, float]]]  # → (access_token, expires_in seconds)


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
        self._served: deque[str] = deque(maxlen=16)  # tokens the API has accepted
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

    def current(self) -> str | None:
        """The cached token if it is still fresh; never fetches."""
        return self._token.value if self._fresh(self._token) and self._token else None

    def mark_served(self, value: str) -> None:
        """The API accepted `value`: a later 401 for it means it died, not that we are refused."""
        if value not in self._served:
            self._served.append(value)

    def has_served(self, value: str) -> bool:
        return value in self._served

    def invalidate(self, rejected: str) -> None:
        """Drop the token the server refused, unless it has already been replaced."""
        if self._token is not None and self._token.value == rejected:
            self._token = None
