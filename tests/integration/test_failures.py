"""Failures are recorded and retried, never fatal to the run; backfill; accounts; one writer."""

from __future__ import annotations

import asyncio
import contextlib
import random
import string
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import orjson
import pytest
from pydantic import SecretStr

from syncer.config.accounts import Account
from syncer.config.settings import Settings
from syncer.errors import DatabaseError
from syncer.service.runner import sync_accounts
from syncer.service.runtime import open_runtime
from syncer.sim import SimConfig, Subscription
from syncer.sync.account import AccountSync
from syncer.warehouse import loader, schema
from syncer.warehouse.locks import lock_key
from tests.integration.answers import rows
from tests.integration.conftest import START, SimHarness
from tests.truth import assert_matches_truth

S = schema.SCHEMA


def detail(h: SimHarness, order: str) -> dict[str, Any]:
    state = h.sim.find(order)
    assert state is not None
    result: dict[str, Any] = orjson.loads(h.sim.detail_bytes(state, False))
    return result


async def test_an_unreadable_detail_is_recorded_retried_every_run_and_cleared_once_loaded(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    bad = harness.sim.order_numbers(customer)[7]
    body = {**detail(harness, bad), "SalesOrderLines": [{"LineNumber": "ten"}]}
    harness.sim.detail_overrides[bad] = (200, orjson.dumps(body))
    sync = harness.account_sync(customer)

    first = await sync.run()

    assert first.outcome == "succeeded"
    assert (first.counts.loaded, first.counts.failed) == (119, 1)
    [(stage, reason, attempts, payload)] = await rows(
        harness, f"SELECT stage, reason, attempts, payload FROM {S}.sync_failures"
    )
    assert stage == "parse" and "SalesOrderLines.0.LineNumber: not a number: 'ten'" in reason
    assert attempts == 1 and orjson.loads(payload) == body  # the payload, kept for a person
    await assert_matches_truth(harness.engine, harness.sim, customer, exclude={bad})
    assert await rows(harness, f"SELECT watermark FROM {S}.sync_state") == [(START,)]

    harness.clock.advance(600)
    second = await sync.run()  # still broken: retried, though its stamp has not changed
    assert second.counts.fetched == 1 and second.counts.failed == 1
    assert await rows(harness, f"SELECT attempts FROM {S}.sync_failures") == [(2,)]

    await assert_recovers(harness, sync, bad)


async def assert_recovers(h: SimHarness, sync: AccountSync, order: str) -> None:
    """The API answers properly again: the next run loads the order and closes its failure."""
    del h.sim.detail_overrides[order]
    h.clock.advance(600)
    result = await sync.run()
    assert (result.counts.loaded, result.counts.failed) == (1, 0)
    assert await rows(h, f"SELECT count(*) FROM {S}.sync_failures") == [(0,)]
    await assert_matches_truth(h.engine, h.sim, sync.account)


async def test_a_detail_that_keeps_failing_is_retried_then_recorded_and_4xx_is_not_retried(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    flaky, gone = harness.sim.order_numbers(customer)[2:4]
    harness.sim.detail_overrides[flaky] = (503, b'{"message":"busy"}')
    harness.sim.detail_overrides[gone] = (404, b'{"statusCode":404,"message":"not found"}')

    result = await harness.account_sync(customer).run()

    attempts = harness.client.transport._max_attempts
    assert harness.sim.detail_hits[flaky] == attempts  # transient: retried, bounded
    assert harness.sim.detail_hits[gone] == 1  # permanent: never retried
    failures = dict(
        await rows(harness, f"SELECT sales_order_number, reason FROM {S}.sync_failures")
    )
    assert set(failures) == {flaky, gone}
    assert "HTTP 503" in failures[flaky] and "HTTP 404" in failures[gone]
    assert result.counts.loaded == 118 and result.outcome == "succeeded"
    assert result.api.calls[("detail", "503")] == attempts
    recorded = await rows(harness, f"SELECT failed, api_calls FROM {S}.sync_runs")
    assert recorded[0][0] == 2 and recorded[0][1]["detail"]["404"] == 1


def incompressible(n: int) -> str:
    rng = random.Random(n)
    return "".join(rng.choice(string.ascii_letters) for _ in range(n))


async def test_a_batch_the_database_rejects_is_retried_order_by_order_to_isolate_the_bad_one(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    numbers = harness.sim.order_numbers(customer)
    bad = next(o for o in numbers if detail(harness, o)["Deliveries"])
    body = detail(harness, bad)
    body["Deliveries"][0]["Parcels"][0]["TrackingNumber"] = incompressible(3000)
    harness.sim.detail_overrides[bad] = (200, orjson.dumps(body))

    result = await harness.account_sync(customer, batch_size=120).run()

    assert (result.counts.loaded, result.counts.failed) == (119, 1)
    [(order, stage, reason)] = await rows(
        harness, f"SELECT sales_order_number, stage, reason FROM {S}.sync_failures"
    )
    assert (order, stage) == (bad, "load") and "index row" in reason
    await assert_matches_truth(harness.engine, harness.sim, customer, exclude={bad})


async def test_backfill_lists_a_range_in_pieces_and_leaves_the_watermark_alone(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    truth = harness.sim.truth(customer)["sales_orders"]
    days = sorted({r["last_changed"].date() for r in truth})
    window = (days[len(days) // 3], days[2 * len(days) // 3])

    et = ZoneInfo("America/New_York")
    expected = {
        r["sales_order_number"] for r in truth
        if window[0] <= r["last_changed"].astimezone(et).date() <= window[1]
    }  # fmt: skip

    result = await harness.account_sync(customer).run(window=window, kind="backfill", chunk_days=3)

    assert result.kind == "backfill" and result.outcome == "succeeded"
    loaded = {r[0] for r in await rows(harness, f"SELECT sales_order_number FROM {S}.sales_orders")}
    assert loaded == expected and len(expected) > 5
    assert await rows(harness, f"SELECT count(*) FROM {S}.sync_state") == [(0,)]
    assert (await rows(harness, f"SELECT kind, window_from, window_to FROM {S}.sync_runs")) == [
        ("backfill", *window)
    ]


async def test_a_backfill_of_ten_years_lists_quiet_years_in_few_calls_and_busy_days_in_short_pieces(
    harness: SimHarness,
) -> None:
    # The account's 120 orders changed within its last 120 days; before that, nine and a half
    # quiet years: at a week a piece, 522 list calls. Pieces grow through the quiet years; the
    # one that reaches the orders finds a full first page (pages of 20) and is listed again a
    # week at a time. While its first page is read, the first order listed is edited and leaves
    # the window: a piece read on to its second page would now skip the order that moved up.
    customer = harness.customers[0]
    et = ZoneInfo("America/New_York")
    window = (START.date() - timedelta(days=3650), START.astimezone(et).date() - timedelta(days=1))
    truth = harness.sim.truth(customer)["sales_orders"]
    in_window = sorted(
        (r["last_changed"], r["sales_order_number"]) for r in truth
        if window[0] <= r["last_changed"].astimezone(et).date() <= window[1]
    )  # fmt: skip
    first_changed, moved = in_window[0][0].astimezone(et).date(), in_window[0][1]
    edited: list[str] = []

    async def on_request_end(_: Any, __: Any, params: aiohttp.TraceRequestEndParams) -> None:
        q = params.url.query
        if params.url.path.endswith("/list") and q.get("page") == "1" and not edited:
            days = (
                date.fromisoformat(q["fromLastChangeDate"]),
                date.fromisoformat(q["toLastChangeDate"]),
            )
            if days[0] <= first_changed <= days[1]:
                harness.sim.touch(customer, moved)
                edited.append(moved)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        sync = harness.account_sync(customer, page_size=20)
        sync.client = harness.make_client(session)
        result = await sync.run(window=window, kind="backfill", chunk_days=7)

    assert result.outcome == "succeeded" and edited == [moved]
    loaded = {r[0] for r in await rows(harness, f"SELECT sales_order_number FROM {S}.sales_orders")}
    assert loaded == {number for _, number in in_window} - {moved}  # it changed after its piece
    list_calls = sum(result.api.as_dict()["list"].values())
    assert 15 <= list_calls <= 60  # growth to a year: at least 15 pieces cover ten years


async def test_an_interrupted_backfill_resumes_where_it_stopped(harness: SimHarness) -> None:
    customer = harness.customers[0]
    window = (START.date() - timedelta(days=200), START.date())
    sync = harness.account_sync(customer, batch_size=10, concurrency=2)
    some_loaded = asyncio.Event()
    sync.progress = lambda r: some_loaded.set() if r.counts.loaded else None
    task = asyncio.create_task(sync.run(window=window, kind="backfill"))
    await some_loaded.wait()
    task.cancel()  # Ctrl-C
    with contextlib.suppress(asyncio.CancelledError):
        await task
    [(partial,)] = await rows(harness, f"SELECT count(*) FROM {S}.sales_orders")
    assert 0 < partial < 120
    hits_before = sum(harness.sim.detail_hits.values())

    result = await harness.account_sync(customer).run(window=window, kind="backfill")

    assert result.outcome == "succeeded"
    assert result.counts.skipped >= partial  # what was committed is not fetched again
    assert sum(harness.sim.detail_hits.values()) - hits_before == 120 - result.counts.skipped
    await assert_matches_truth(harness.engine, harness.sim, customer)


async def test_each_account_syncs_with_its_own_credentials_and_one_failure_stops_no_other(
    harness_factory: Any, database_url: str
) -> None:
    other = Subscription("acme-client", "acme-secret", "acme-key", ("2000011111",))
    h: SimHarness = await harness_factory(
        orders_per_account=40,
        subscriptions=(SimConfig().subscriptions[0], other),
    )
    demo = h.sim.config.subscriptions[0]
    settings = Settings(
        database_url=database_url,
        api_base_url=h.running.base_url,
        api_token_url=h.running.token_url,
        api_scope=h.running.scope,
        api_client_id=demo.client_id,
        api_client_secret=SecretStr(demo.client_secret),
        api_subscription_key=SecretStr(demo.subscription_key),
        accounts=[
            Account(customer_number=demo.customer_numbers[0]),
            Account(customer_number=demo.customer_numbers[1], client_secret=SecretStr("wrong")),
            Account(
                customer_number="2000011111",
                client_id=other.client_id,
                client_secret=SecretStr(other.client_secret),
                subscription_key=SecretStr(other.subscription_key),
            ),
        ],
    )
    async with open_runtime(settings) as rt:
        for client in rt.clients.values():
            client.transport._backoff_base = 0.01
        results = await sync_accounts(rt, [a.customer_number for a in settings.accounts])

    outcome = {r["account"]: r for r in results}
    assert outcome[demo.customer_numbers[0]]["outcome"] == "succeeded"
    assert outcome["2000011111"]["outcome"] == "succeeded"
    refused = outcome[demo.customer_numbers[1]]
    assert refused["outcome"] == "failed" and "refused the client credentials" in refused["error"]
    assert "wrong" not in str(results)
    # refused before anything was written: no run row, no orders, no watermark
    for table in ("sync_runs", "sync_state"):
        assert await rows(h, f"SELECT count(*) FROM {S}.{table} WHERE account = $1",
                          demo.customer_numbers[1]) == [(0,)]  # fmt: skip
    await assert_matches_truth(h.engine, h.sim, demo.customer_numbers[0])
    await assert_matches_truth(h.engine, h.sim, "2000011111")
    assert await rows(h, f"SELECT count(*) FROM {S}.sales_orders WHERE customer_number = $1",
                      demo.customer_numbers[1]) == [(0,)]  # fmt: skip


async def test_a_second_instance_skips_an_account_another_is_syncing(harness: SimHarness) -> None:
    customer = harness.customers[0]
    async with loader.connection(harness.engine) as other:
        await other.execute("SELECT pg_advisory_lock($1)", lock_key(customer))
        skipped = await harness.account_sync(customer).run()
        assert skipped.outcome == "skipped"
        assert await rows(harness, f"SELECT count(*) FROM {S}.sync_runs") == [(0,)]

        waiting = asyncio.create_task(harness.account_sync(customer, wait_for_lock=True).run())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # waits while the other instance holds the account
        await other.execute("SELECT pg_advisory_unlock($1)", lock_key(customer))
    result = await waiting
    assert result.outcome == "succeeded" and result.counts.loaded == 120


async def test_an_order_listed_twice_in_one_run_with_several_writers_is_fetched_once(
    harness: SimHarness,
) -> None:
    """Orders that failed are fetched again first, and a forced backfill of everything lists them
    once more, here with four writers: each is fetched once, ends loaded once, nothing is
    recorded as failed, and the warehouse equals the truth."""
    customer = harness.customers[0]
    twice = harness.sim.order_numbers(customer)[:12]
    for number in twice:
        harness.sim.detail_overrides[number] = (404, b'{"message":"not yet"}')
    sync = harness.account_sync(customer, batch_size=2, writers=4)
    first = await sync.run()
    assert first.counts.failed == len(twice)
    harness.sim.detail_overrides.clear()
    harness.clock.advance(600)
    harness.sim.detail_hits.clear()

    second = await sync.run(window=(None, START.date()), kind="backfill", force=True)

    assert second.outcome == "succeeded"
    assert second.counts.fetched == 120
    assert {harness.sim.detail_hits[n] for n in twice} == {1}
    assert second.counts.failed == 0
    assert await rows(harness, f"SELECT count(*) FROM {S}.sales_orders") == [(120,)]
    assert await rows(harness, f"SELECT count(*) FROM {S}.sync_failures") == [(0,)]
    await assert_matches_truth(harness.engine, harness.sim, customer)


async def test_an_empty_200_detail_is_retried_then_recorded(harness: SimHarness) -> None:
    customer = harness.customers[0]
    empty = harness.sim.order_numbers(customer)[5]
    harness.sim.detail_overrides[empty] = (200, b"")

    result = await harness.account_sync(customer).run()

    assert harness.sim.detail_hits[empty] == harness.client.transport._max_attempts
    [(reason,)] = await rows(harness, f"SELECT reason FROM {S}.sync_failures")
    assert reason == "detail: empty body"
    assert result.counts.loaded == 119 and result.outcome == "succeeded"


async def test_a_database_error_in_a_writer_fails_the_run_with_a_readable_error(
    harness: SimHarness,
) -> None:
    """Not a data error (the database is full, say): the run stops, as the error it is."""
    customer = harness.customers[0]
    victim = harness.sim.order_numbers(customer)[30]
    async with loader.connection(harness.engine) as con:
        await con.execute(f"""
            CREATE FUNCTION {S}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.sales_order_number = '{victim}' THEN
                    RAISE EXCEPTION 'could not extend file (test)' USING ERRCODE = '53100';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON {S}.sales_order_lines
                FOR EACH ROW EXECUTE FUNCTION {S}.refuse();
        """)
    try:
        with pytest.raises(DatabaseError) as raised:
            await harness.account_sync(customer, writers=2).run()
    finally:
        async with loader.connection(harness.engine) as con:
            await con.execute(f"DROP FUNCTION {S}.refuse() CASCADE")

    assert str(raised.value) == (
        f"account {customer}: database error: DiskFullError: could not extend file (test)"
    )
    [(outcome, error)] = await rows(harness, f"SELECT outcome, error FROM {S}.sync_runs")
    assert outcome == "failed" and error == "DiskFullError: could not extend file (test)"
