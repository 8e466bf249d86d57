"""The token cache: refreshed ahead of expiry, one refresh shared by every concurrent caller."""

from __future__ import annotations

import asyncio

import pytest

from syncer.api.auth import (
    DEFAULT_LIFETIME,
    MAX_LIFETIME,
    MIN_LIFETIME,
    TokenProvider,
    token_lifetime,
)


class TokenEndpoint:
    """A plain fake of the token fetch: counts calls, answers after a moment, may fail."""

    def __init__(self, lifetime: float = 3600.0) -> None:
        self.calls = 0
        self.lifetime = lifetime
        self.fail_next = 0

    async def __call__(self) -> tuple[str, float]:
        self.calls += 1
        await asyncio.sleep(0.01)  # long enough for every caller to pile up behind it
        if self.fail_next:
            self.fail_next -= 1
            raise ConnectionError("token endpoint down")
        return f"token-{self.calls}", self.lifetime


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_token_is_fetched_once_and_cached_until_the_leeway_before_expiry() -> None:
    endpoint, clock = TokenEndpoint(lifetime=3600), Clock()
    tokens = TokenProvider(endpoint, leeway_seconds=120, clock=clock)

    assert await tokens.token() == "token-1"
    clock.now += 3600 - 121
    assert await tokens.token() == "token-1"
    clock.now += 2  # now inside the leeway: refreshed before it can expire mid-request
    assert await tokens.token() == "token-2"
    assert endpoint.calls == 2


async def test_concurrent_callers_share_one_refresh() -> None:
    endpoint = TokenEndpoint()
    tokens = TokenProvider(endpoint)

    got = await asyncio.gather(*(tokens.token() for _ in range(50)))

    assert set(got) == {"token-1"}
    assert endpoint.calls == 1 and tokens.refreshes == 1


async def test_concurrent_callers_share_one_failed_refresh_and_the_next_call_tries_again() -> None:
    endpoint = TokenEndpoint()
    endpoint.fail_next = 1
    tokens = TokenProvider(endpoint)

    got = await asyncio.gather(*(tokens.token() for _ in range(20)), return_exceptions=True)

    assert all(isinstance(g, ConnectionError) for g in got)
    assert endpoint.calls == 1  # twenty waiting workers did not hammer a failing endpoint
    assert await tokens.token() == "token-2"


async def test_invalidating_a_rejected_token_refreshes_once_even_if_many_callers_saw_it() -> None:
    endpoint = TokenEndpoint()
    tokens = TokenProvider(endpoint)
    old = await tokens.token()

    async def rejected_then_retry() -> str:
        tokens.invalidate(old)  # twenty requests came back 401 with the old token
        return await tokens.token()

    got = await asyncio.gather(*(rejected_then_retry() for _ in range(20)))
    assert set(got) == {"token-2"} and endpoint.calls == 2
    tokens.invalidate(old)  # a straggler's 401 for the old token must not drop the new one
    assert await tokens.token() == "token-2" and endpoint.calls == 2


async def test_a_lifetime_shorter_than_the_leeway_does_not_refresh_on_every_call() -> None:
    endpoint, clock = TokenEndpoint(lifetime=60), Clock()
    tokens = TokenProvider(endpoint, leeway_seconds=120, clock=clock)
    for _ in range(10):
        await tokens.token()
    clock.now += 29
    await tokens.token()
    assert endpoint.calls == 1
    clock.now += 2  # past half the lifetime
    await tokens.token()
    assert endpoint.calls == 2


async def test_a_cancelled_caller_does_not_cancel_the_refresh_the_others_wait_for() -> None:
    endpoint = TokenEndpoint()
    tokens = TokenProvider(endpoint)
    first = asyncio.ensure_future(tokens.token())
    await asyncio.sleep(0)
    second = asyncio.ensure_future(tokens.token())
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second == "token-1" and endpoint.calls == 1


@pytest.mark.parametrize(
    ("expires_in", "seconds", "note"),
    [
        (3599, 3599.0, None),
        ("3599", 3599.0, None),  # Azure AD's v1 endpoint sends it as a string
        (0, MIN_LIFETIME, "expires_in 0 taken as 60 s"),
        (-5, MIN_LIFETIME, "expires_in -5 taken as 60 s"),
        (1e12, MAX_LIFETIME, "expires_in 1e+12 taken as 86400 s"),
        ("1e400", MAX_LIFETIME, "expires_in inf taken as 86400 s"),
        (None, DEFAULT_LIFETIME, "no expires_in: 3599 s assumed"),
        ("abc", DEFAULT_LIFETIME, "expires_in 'abc': 3599 s assumed"),
        ("nan", DEFAULT_LIFETIME, "expires_in 'nan': 3599 s assumed"),
        (True, DEFAULT_LIFETIME, "expires_in 'True': 3599 s assumed"),
        ([60], DEFAULT_LIFETIME, "expires_in '[60]': 3599 s assumed"),
    ],
)
def test_a_token_lifetime_is_clamped_into_a_sane_range_and_says_so(
    expires_in: object, seconds: float, note: str | None
) -> None:
    assert token_lifetime(expires_in) == (seconds, note)


async def test_a_fresh_token_is_used_once_even_when_its_life_is_already_over() -> None:
    endpoint, clock = TokenEndpoint(lifetime=0), Clock()
    tokens = TokenProvider(endpoint, clock=clock)

    first = await tokens.token()
    assert tokens.usable() == first  # expired on arrival, but the call it was fetched for sends it
    tokens.mark_served(first, tokens.answered())
    assert tokens.usable() is None  # used, and over: a refresh is due
    assert await tokens.token() == "token-2" and endpoint.calls == 2


async def test_a_refused_token_is_not_usable_and_a_live_one_is_even_past_its_refresh_time() -> None:
    endpoint, clock = TokenEndpoint(lifetime=3600), Clock()
    tokens = TokenProvider(endpoint, leeway_seconds=120, clock=clock)
    first = await tokens.token()
    tokens.mark_served(first, tokens.answered())
    clock.now += 3600 - 60  # inside the leeway: the next token() refreshes, but it still works
    assert tokens.usable() == first
    tokens.invalidate(first)
    assert tokens.usable() is None


async def test_a_401_is_the_token_dying_unless_the_token_is_accepted_in_a_later_answer() -> None:
    # Two requests share a token; the API answers the one sent second first, accepting the
    # token, then refuses the first: the token died between the two answers (it must be
    # refreshed), whatever order the requests were sent in.
    tokens = TokenProvider(TokenEndpoint(lifetime=3600), clock=Clock())
    value = await tokens.token()
    tokens.mark_served(value, tokens.answered())  # the request sent second, answered first
    refused = tokens.answered()  # then the 401 for the one sent first
    assert not tokens.served_after(value, refused)  # died: refresh and try again
    tokens.mark_served(value, tokens.answered())  # but accepted again after the 401:
    assert tokens.served_after(value, refused)  # alive, so that 401 was about its request
