"""Waits the API asks for are bounded: a Retry-After of days, a far-future date or 1e308 pauses
the key only api_retry_after_max_seconds (and says so once), and no call outlives
api_call_deadline_seconds, whatever mix of pauses, backoffs and attempts it meets."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from syncer.api.ratelimit import RateLimiter
from syncer.config.simulator import simulator_settings
from syncer.errors import TransientApiError
from syncer.service.options import limits
from syncer.sim import FaultConfig
from tests.integration.conftest import SimHarness
from tests.log_events import events


@pytest.mark.parametrize(
    ("form", "seconds"),
    [
        ("seconds", 864_000.0),  # ten days
        ("seconds", 1e308),
        ("date", 3e9),  # a date about a century away
    ],
)
async def test_a_huge_retry_after_pauses_the_key_no_longer_than_the_setting_and_is_logged_once(
    harness_factory: Any, form: str, seconds: float, caplog: pytest.LogCaptureFixture
) -> None:
    # Two requests a second, one at once: a second request at once is turned away, and so is
    # the retry after a 0.3 s pause; the one after the next pause goes through.
    faults = FaultConfig(rate_limit=2.0, rate_limit_burst=1, retry_after=form,
                         retry_after_seconds=seconds)  # fmt: skip
    h: SimHarness = await harness_factory(orders_per_account=4, faults=faults)
    settings = simulator_settings(h.running, h.sim.config.subscriptions[0],
                                  api_retry_after_default_seconds=0.1,
                                  api_retry_after_max_seconds=0.3)  # fmt: skip
    limiter = RateLimiter(limits(settings))
    client = h.make_client(limiter=limiter)
    customer = h.customers[0]
    await client.list_page(customer)

    with caplog.at_level(logging.WARNING, logger="syncer.api.ratelimit"):
        async with asyncio.timeout(30):  # the setting, not the header, decides how long
            await client.list_page(customer)
            await client.list_page(customer)

    assert client.stats.calls[("list", "429")] >= 2
    assert h.sim.faults.injected["rate_limit"] >= 2
    warnings = events(caplog, "Retry-After")
    assert len(warnings) == 1, warnings  # once for the episode, not once per 429
    assert warnings[0]["retry_after_seconds"] == pytest.approx(seconds, rel=0.01)
    assert "api_retry_after_max_seconds" in warnings[0]["event"]
    assert limiter.limits.max_retry_after == 0.3


@pytest.mark.parametrize(
    ("faults", "options"),
    [
        # Turned away again and again, each 429 asking for 0.2 s: 30 throttles would be 6 s.
        ({"rate_limit": 0.001, "rate_limit_burst": 1, "retry_after_seconds": 0.2},
         {"max_throttled": 1000}),
        # Failing again and again, with backoffs up to 0.5 s: 50 attempts would be ~12 s.
        ({"error_rate": 1.0, "only": frozenset({"list"})},
         {"max_attempts": 50, "backoff_base": 0.5, "backoff_cap": 0.5}),
    ],
    ids=["throttled", "failing"],
)  # fmt: skip
async def test_a_call_gives_up_at_its_deadline_as_a_transient_failure(
    harness_factory: Any, faults: dict[str, Any], options: dict[str, Any]
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=4, faults=FaultConfig(**faults))
    client = h.make_client(call_deadline_seconds=1.0, **options)
    customer = h.customers[0]
    await client.transport.tokens.token()
    if "rate_limit" in faults:
        await client.list_page(customer)  # the one request the server lets through

    async with asyncio.timeout(30):
        with pytest.raises(TransientApiError) as gave_up:
            await client.list_page(customer)

    assert "gave up after 1 s" in str(gave_up.value)
    assert "api_call_deadline_seconds" in str(gave_up.value)
    attempts = sum(n for (op, status), n in client.stats.calls.items() if op == "list")
    assert 2 <= attempts <= 15  # it tried, then stopped long before its other bounds
