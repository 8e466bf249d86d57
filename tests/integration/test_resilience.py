"""The sync against a misbehaving API: every fault of the simulator, over real HTTP, into a real
Postgres. Whatever goes wrong, no order is lost and none is duplicated (warehouse == truth)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from syncer.api.ratelimit import Limits, RateLimiter
from syncer.errors import AuthError, PermanentApiError, RateLimited, TransientApiError
from syncer.sim import FaultConfig
from syncer.warehouse import schema
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth
from tests.unit.test_api_orders import LABELS, po

S = schema.SCHEMA
Factory = Callable[..., Any]

# One fault kind at a time, often enough to meet it many times in a 3 x 40-order sync.
FAULTS: dict[str, dict[str, Any]] = {
    "rate_limit": {"rate_limit": 150.0, "rate_limit_burst": 10, "retry_after_seconds": 0.2},
    "rate_limit_no_retry_after": {
        "rate_limit": 150.0, "rate_limit_burst": 10, "retry_after": "none"
    },
    "error": {"error_rate": 0.2},
    "hang": {"hang_rate": 0.04, "hang_seconds": 5.0},
    "reset": {"reset_rate": 0.15},
    "slow": {"slow_rate": 0.1, "slow_seconds": 0.3},
    "truncate": {"truncate_rate": 0.15},
    "malformed": {"malformed_rate": 0.15},
    "html": {"html_rate": 0.15},
    "chunked": {"chunked_rate": 0.5},  # no Content-Length: the size limit counts as it reads
    "token_expiry": {"token_expiry_rate": 0.05},
    "quirks": {"quirk_rate": 0.5},
    "long_text": {"long_text_rate": 0.3},
}  # fmt: skip
INJECTED = {"rate_limit_no_retry_after": "rate_limit", "quirks": "quirk:float_ints"}


def happened(h: SimHarness, kind: str) -> bool:
    if kind == "long_text":  # data, not a fault of a request: it shows in the truth
        return any(len(r["memo"] or "") > 1000 for r in h.sim.truth()["sales_orders"])
    return h.sim.faults.injected[INJECTED.get(kind, kind)] > 0


async def sync_all(h: SimHarness) -> list[Any]:
    return list(await asyncio.gather(*(h.account_sync(c).run() for c in h.customers)))


async def failures(h: SimHarness) -> int:
    async with h.engine.connect() as conn:
        n = (await conn.exec_driver_sql(f"SELECT count(*) FROM {S}.sync_failures")).scalar()
    return int(n or 0)


async def resilient(factory: Factory, orders: int = 40, **faults: Any) -> SimHarness:
    h: SimHarness = await factory(orders_per_account=orders, faults=FaultConfig(**faults))
    # A short timeout so hangs cost little; a little more patience than the default.
    h.client = h.make_client(timeout_seconds=1.0, max_attempts=6)
    return h


@pytest.mark.parametrize("kind", sorted(FAULTS))
async def test_the_sync_loses_and_duplicates_nothing_under_each_fault(
    harness_factory: Factory, kind: str
) -> None:
    h = await resilient(harness_factory, **FAULTS[kind])

    results = await sync_all(h)

    for r in results:
        assert r.outcome == "succeeded", r.error
        assert r.counts.failed == 0 and r.counts.loaded == r.counts.listed == 40
    assert await failures(h) == 0
    await assert_matches_truth(h.engine, h.sim)  # row by row, duplicates counted
    assert happened(h, kind), "the fault never happened: this proves nothing"


async def test_the_sync_survives_every_fault_at_once(harness_factory: Factory) -> None:
    # The preset's 1% body faults meet ~190 requests about twice each: sometimes not at all
    # (seen once in CI). At 3% each kind asserted below comes up with near certainty.
    chaos = FaultConfig.parse("chaos,rate_limit=300,rate_limit_burst=20,retry_after_seconds=0.2,"
                              "reset_rate=0.03,truncate_rate=0.03,malformed_rate=0.03,"
                              "html_rate=0.03")  # fmt: skip
    h = await resilient(harness_factory, orders=60, **dataclasses.asdict(chaos))

    results = await sync_all(h)

    print("\ninjected faults:", dict(sorted(h.sim.faults.injected.items())))
    print("api calls:", h.client.stats.as_dict())
    assert all(r.outcome == "succeeded" for r in results), [r.error for r in results]
    assert await failures(h) == 0
    await assert_matches_truth(h.engine, h.sim)
    kinds = {k.split(":")[0] for k in h.sim.faults.injected}
    assert {"error", "reset", "truncate", "malformed", "html", "quirk"} <= kinds


async def test_a_429_pauses_every_request_of_the_key_until_retry_after(
    harness_factory: Factory,
) -> None:
    # The server lets 3 requests through, then turns everything away until we lift the limit.
    h = await resilient(harness_factory, orders=8, rate_limit=0.001, rate_limit_burst=3,
                        retry_after_seconds=0.6)  # fmt: skip
    shared = RateLimiter(Limits(rate=1000.0, burst=50, max_in_flight=8))
    h.client = h.make_client(limiter=shared)
    other = h.make_client(limiter=shared)  # another client of the same key: same limiter
    await h.client.transport.tokens.token()
    await other.transport.tokens.token()
    customer = h.customers[0]
    journal = h.sim.faults.journal

    async def arrivals(n: int) -> None:
        while len(journal) < n:  # noqa: ASYNC110 - polls what the server has seen
            await asyncio.sleep(0.001)

    async def lift_the_limit_once_the_first_wave_is_in() -> None:
        await arrivals(8)
        h.sim.faults.config = FaultConfig(retry_after_seconds=0.6)  # no limit any more

    async def a_new_call_during_the_pause() -> None:
        await arrivals(4)  # at least one 429 is out
        await asyncio.sleep(0.1)
        await other.list_page(customer)

    numbers = h.sim.order_numbers(customer)
    await asyncio.gather(
        lift_the_limit_once_the_first_wave_is_in(),
        a_new_call_during_the_pause(),
        *(h.client.detail_bytes(customer, n) for n in numbers),  # eight at once
    )

    first_wave, later = list(journal)[:8], list(journal)[8:]
    assert Counter(a.status for a in first_wave) == {200: 3, 429: 5}
    first_429 = min(a.at for a in first_wave if a.status == 429)
    # Nothing reached the server until Retry-After had passed, not even the other client's
    # new call; then the five retries and that call all went through.
    assert len(later) == 6 and all(a.status == 200 for a in later)
    assert min(a.at for a in later) >= first_429 + 0.6
    assert shared.congestion_events == 1  # five 429s of one overload: one halving
    assert shared.rate < 1000.0


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"salesOrderNumber": "0000000000"}, 404),  # unknown order
        ({}, 400),  # no order number
        ({"salesOrderNumber": "OTHER"}, 403),  # an order of another customer
    ],
)
async def test_a_4xx_other_than_429_is_never_retried(
    harness: SimHarness, params: dict[str, str], status: int
) -> None:
    customer, other = harness.customers[0], harness.customers[1]
    if params.get("salesOrderNumber") == "OTHER":
        params = {"salesOrderNumber": harness.sim.order_numbers(other)[0]}
    with pytest.raises(PermanentApiError) as caught:
        await harness.client.transport.request(
            "detail", "GET", "/detail", params={"customerNumber": customer, **params}
        )
    assert caught.value.status == status and not isinstance(caught.value, TransientApiError)
    assert harness.client.stats.calls[("detail", str(status))] == 1
    assert sum(n for (op, _), n in harness.client.stats.calls.items() if op == "detail") == 1


async def test_a_401_is_retried_once_with_a_fresh_token_and_then_given_up(
    harness: SimHarness,
) -> None:
    from pydantic import SecretStr

    from syncer.api.auth import Credentials

    creds = harness.credentials
    wrong_key = Credentials(creds.client_id, creds.client_secret, SecretStr("not-our-key-123"))
    client = harness.make_client(credentials=wrong_key)

    with pytest.raises(AuthError):
        await client.list_page(harness.customers[0])

    assert client.stats.calls == {("token", "200"): 2, ("list", "401"): 2}


async def test_a_token_that_dies_before_its_exp_is_replaced_once_for_all_concurrent_callers(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    numbers = harness.sim.order_numbers(customer)[:40]
    client = harness.client
    first = await client.transport.tokens.token()
    harness.sim.faults.revoke(first)  # as if Azure AD had revoked it mid-life

    bodies = await asyncio.gather(*(client.detail_bytes(customer, n) for n in numbers))

    assert len(bodies) == 40
    assert client.stats.calls[("token", "200")] == 2  # forty callers, one refresh
    assert client.transport.tokens.refreshes == 2
    # Only the calls already in flight with the dead token saw a 401; the others, still
    # waiting for their turn, went with the new one.
    assert 1 <= client.stats.calls[("detail", "401")] <= 8
    assert client.stats.calls[("detail", "200")] == 40


async def test_a_token_past_its_exp_on_the_server_clock_is_refreshed_on_the_401(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    await harness.client.list_page(customer)
    harness.clock.advance(3600)  # the server says the token expired; our clock disagrees

    await harness.client.list_page(customer)

    assert harness.client.stats.calls == {("token", "200"): 2, ("list", "200"): 2,
                                          ("list", "401"): 1}  # fmt: skip


async def test_retries_are_bounded_and_orders_that_kept_failing_load_on_the_next_run(
    harness_factory: Factory,
) -> None:
    h = await resilient(harness_factory, orders=10, error_rate=1.0, only=frozenset({"detail"}))
    h.client = h.make_client(max_attempts=3)
    customer = h.customers[0]

    first = await h.account_sync(customer).run()

    assert first.outcome == "succeeded" and first.counts.failed == 10  # the run goes on
    detail_calls = sum(n for (op, _), n in first.api.calls.items() if op == "detail")
    assert detail_calls == 10 * 3  # three attempts each, then recorded as failed
    assert await failures(h) == 10
    async with h.engine.connect() as conn:
        reason = (await conn.exec_driver_sql(f"SELECT min(reason) FROM {S}.sync_failures")).scalar()
    assert reason is not None and reason.startswith("detail: HTTP 50")

    h.sim.faults.config = FaultConfig()  # the API recovers
    h.clock.advance(600)
    second = await h.account_sync(customer).run()

    assert second.outcome == "succeeded" and second.counts.loaded == 10
    assert await failures(h) == 0
    await assert_matches_truth(h.engine, h.sim, customer)


async def test_a_call_throttled_too_many_times_gives_up_with_rate_limited(
    harness_factory: Factory,
) -> None:
    h = await resilient(harness_factory, orders=2, rate_limit=0.001, rate_limit_burst=1,
                        retry_after_seconds=0.05)  # fmt: skip
    client = h.make_client(max_throttled=2)
    customer = h.customers[0]
    await client.list_page(customer)  # the one request the server allows

    with pytest.raises(RateLimited):
        await client.list_page(customer)

    assert client.stats.calls[("list", "429")] == 3  # the first try and two more
    assert client.transport.limiter.congestion_events == 3


async def test_placing_an_order_is_not_repeated_once_it_may_have_reached_the_api(
    harness_factory: Factory,
) -> None:
    # A 5xx (or a timeout) leaves unknown whether the order was placed: a retry could place it
    # twice. The caller gets the error and looks for the PO number (`syncer api create --wait`).
    h = await resilient(harness_factory, orders=2, error_rate=1.0,
                        only=frozenset({"createasync"}))  # fmt: skip
    client = h.make_client(max_attempts=5)
    customer = h.customers[0]

    with pytest.raises(TransientApiError):
        await client.create_order_async(customer, po("PO-LOST-1", (LABELS, 1)))

    assert sum(n for (op, _), n in client.stats.calls.items() if op == "createasync") == 1
    assert h.sim.faults.injected["error"] == 1
    await client.list_page(customer)  # reads of the same client still go through


async def test_placing_an_order_refused_with_a_429_is_retried_and_placed_once(
    harness_factory: Factory,
) -> None:
    # A 429 is a refusal: nothing was done, so the create waits for Retry-After and goes again.
    h = await resilient(harness_factory, orders=2, rate_limit=5.0, rate_limit_burst=1,
                        retry_after_seconds=0.3)  # fmt: skip
    client = h.make_client()
    customer = h.customers[0]
    await client.list_page(customer)  # takes the one request the bucket holds

    await client.create_order_async(customer, po("PO-THROTTLED-1", (LABELS, 2)))

    assert client.stats.calls[("createasync", "429")] >= 1
    assert client.stats.calls[("createasync", "202")] == 1
    h.clock.advance(h.sim.config.create_delay_seconds)
    assert len(await client.summary(customer, po_number="PO-THROTTLED-1")) == 1
