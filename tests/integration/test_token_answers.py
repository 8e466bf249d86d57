"""Token answers an identity provider should not give: lifetimes of 0, negative, missing,
unreadable or absurd, and tokens that are refused from the start. Over real HTTP, into a real
Postgres: no refresh loop, and a run that cannot get a working token ends with one line."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from syncer.errors import CredentialsError
from syncer.sim import FaultConfig
from syncer.warehouse import schema
from tests.integration.conftest import START, SimHarness
from tests.log_events import events
from tests.truth import assert_matches_truth

S = schema.SCHEMA


async def one(h: SimHarness, sql: str, *args: Any) -> Any:
    async with h.engine.connect() as conn:
        return (await conn.exec_driver_sql(sql, args)).scalar()


async def rows(h: SimHarness, sql: str, *args: Any) -> list[Any]:
    async with h.engine.connect() as conn:
        return list((await conn.exec_driver_sql(sql, args)).all())


def token_requests(calls: Any) -> int:
    return sum(n for (op, _), n in calls.items() if op == "token")


@pytest.mark.parametrize("expires_in", ["0", "-5", "none", "abc", "1e12", "1e400"])
async def test_a_token_answer_with_an_absurd_lifetime_is_used_without_a_refresh_loop(
    harness_factory: Any, expires_in: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The tokens themselves work for the simulator's whole hour: only expires_in is odd.
    h: SimHarness = await harness_factory(
        orders_per_account=40, faults=FaultConfig(token_expires_in=expires_in)
    )
    customer = h.customers[0]

    with caplog.at_level(logging.WARNING, logger="syncer.api.token_endpoint"):
        async with asyncio.timeout(60):  # a refresh loop would spin here forever
            result = await h.account_sync(customer).run()

    assert result.outcome == "succeeded", result.error
    assert result.counts.loaded == 40 and result.counts.failed == 0
    assert token_requests(result.api.calls) == 1  # one token served the whole run
    await assert_matches_truth(h.engine, h.sim, customer)
    warned = events(caplog, "expires_in")
    assert len(warned) == 1 and warned[0]["token_url"] == h.running.token_url


async def test_tokens_that_die_at_once_end_the_run_with_one_line_naming_the_token_endpoint(
    harness_factory: Any,
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=40)
    customer = h.customers[0]
    first = await h.account_sync(customer).run()
    assert first.outcome == "succeeded" and first.counts.loaded == 40
    for number in h.sim.order_numbers(customer)[:10]:
        h.sim.touch(customer, number)
    h.clock.advance(3600)
    # From now on every token the endpoint hands out says expires_in 0, and is refused.
    h.sim.faults.config = FaultConfig(token_expires_in="0", token_dies_at_once=True)
    h.client = h.make_client()  # a new process: no token from before

    async with asyncio.timeout(60):
        second = await h.account_sync(customer).run()

    assert second.outcome == "failed"
    assert second.error is not None and "\n" not in second.error
    assert h.running.token_url in second.error and "expires_in 0" in second.error
    assert h.credentials.client_secret.get_secret_value() not in second.error
    assert token_requests(second.api.calls) == 2  # a fresh token, and one more: then it ends
    recorded = await one(h, f"SELECT outcome || ': ' || error FROM {S}.sync_runs WHERE id = $1",
                         second.run_id)  # fmt: skip
    assert recorded == f"failed: {second.error}"
    assert await one(h, f"SELECT watermark FROM {S}.sync_state") == START  # did not move
    assert await one(h, f"SELECT count(*) FROM {S}.sync_failures") == 0  # no order blamed
    assert await one(h, f"SELECT count(*) FROM {S}.sales_orders") == 40  # nothing lost


async def test_tokens_that_die_after_one_use_end_the_run_at_the_bound_on_token_requests(
    harness_factory: Any,
) -> None:
    # Every token works once for details and is then revoked: each call needs a new one.
    h: SimHarness = await harness_factory(
        orders_per_account=40,
        faults=FaultConfig(token_expiry_rate=1.0, only=frozenset({"detail"})),
    )
    h.client = h.make_client(token_refreshes_per_run=10, token_refreshes_per_call=100)
    customer = h.customers[0]

    async with asyncio.timeout(60):
        with pytest.raises(CredentialsError) as ended:
            await h.account_sync(customer).run()  # as a database error does, it ends the run

    error = str(ended.value)
    assert h.running.token_url in error and "api_token_refreshes_per_run" in error
    assert "\n" not in error
    outcome, recorded, calls = (
        await rows(h, f"SELECT outcome, error, api_calls FROM {S}.sync_runs")
    )[0]
    assert (outcome, recorded) == ("failed", error)
    assert sum(calls["token"].values()) == 10
    assert await one(h, f"SELECT watermark FROM {S}.sync_state") is None
    assert await one(h, f"SELECT count(*) FROM {S}.sync_failures") == 0


async def test_a_call_waits_for_a_bounded_number_of_fresh_tokens(harness_factory: Any) -> None:
    # Every token is revoked on its second use, and calls share tokens: a call's fresh token is
    # often used up by another call before its own turn comes.
    h: SimHarness = await harness_factory(
        orders_per_account=40,
        faults=FaultConfig(token_expiry_rate=1.0, only=frozenset({"detail"})),
    )
    client = h.make_client(token_refreshes_per_call=1, max_in_flight=8)
    customer = h.customers[0]
    await client.list_page(customer)

    async with asyncio.timeout(60):
        got = await asyncio.gather(
            *(client.detail_bytes(customer, n) for n in h.sim.order_numbers(customer)),
            return_exceptions=True,
        )

    refused = [g for g in got if isinstance(g, CredentialsError)]
    assert refused, "no call needed a second fresh token: this proves nothing"
    assert all("api_token_refreshes_per_call = 1" in str(e) for e in refused)
    assert all(h.running.token_url in str(e) for e in refused)
    assert all(isinstance(g, bytes | CredentialsError) for g in got)


async def test_a_401_for_one_order_while_the_token_works_for_others_fails_that_order_only(
    harness_factory: Any,
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=60)
    customer = h.customers[0]
    refused = h.sim.order_numbers(customer)[30]
    h.sim.detail_overrides[refused] = (401, b'{"statusCode": 401, "message": "not this one"}')

    async with asyncio.timeout(60):
        result = await h.account_sync(customer).run()

    assert result.outcome == "succeeded", result.error
    assert (result.counts.loaded, result.counts.failed) == (59, 1)
    [(number, stage, reason)] = await rows(
        h, f"SELECT sales_order_number, stage, reason FROM {S}.sync_failures"
    )
    assert (number, stage) == (refused, "fetch") and "HTTP 401 not this one" in reason
    assert token_requests(result.api.calls) <= 1 + h.client.transport._refreshes_per_call
    await assert_matches_truth(h.engine, h.sim, customer, exclude={refused})
