"""OAuth2 client-credentials token cache: refreshed ahead of expiry, one refresh at a time."""

from __future__ import annotations

import asyncio
import time
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

    def __repr__(self) -> str:
        return f"Token(***, expires_at={self.expires_at})"


FetchToken = Callable[[], Awaitable[tuple[str, float]]]  # → (access_token, expires_in seconds)


class TokenProvider:
    """Caches a bearer token; concurrent callers share a single refresh (single flight)."""

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
        self._lock = asyncio.Lock()
        self.refreshes = 0

    def _fresh(self, token: Token | None) -> bool:
        return token is not None and self._clock() < token.expires_at - self._leeway

    async def token(self) -> str:
        if self._fresh(self._token):
            assert self._token is not None
            return self._token.value
        async with self._lock:
            if not self._fresh(self._token):  # another caller may have refreshed while we waited
                value, expires_in = await self._fetch()
                self._token = Token(value, self._clock() + expires_in)
                self.refreshes += 1
            assert self._token is not None
            return self._token.value

    def invalidate(self, rejected: str) -> None:
        """Drop the token the server refused, unless it has already been replaced."""
        if self._token is not None and self._token.value == rejected:
            self._token = None
