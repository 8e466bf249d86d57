"""Incremental sync rules (DESIGN.md "Sync rules"), each against the simulator's lifecycle on a
fake clock and a real Postgres, comparing the warehouse with the ground truth after each step."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from syncer.warehouse import schema
from tests.integration.conftest import START, SimHarness
from tests.truth import assert_matches_truth

S = schema.SCHEMA
ET = ZoneInfo("America/New_York")


async def rows(h: SimHarness, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with h.engine.connect() as conn:
        return [tuple(r) for r in (await conn.exec_driver_sql(sql, args)).all()]


def status_of(h: SimHarness, customer: str, order: str) -> str:
    [row] = [r for r in h.sim.truth(customer)["sales_orders"] if r["sales_order_number"] == order]
    return str(row["status"])


def an_open_order(h: SimHarness, customer: str) -> str:
    return next(o for o in h.sim.order_numbers(customer) if status_of(h, customer, o) == "Open")


async def test_poll_window_is_the_watermark_day_minus_lookback_in_scansource_time(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    await harness.account_sync(customer).run()
    # 03:30 UTC on the 21st is still the 20th in New York: the window must use ScanSource's day.
    harness.clock.set(datetime(2026, 11, 21, 3, 30, tzinfo=UTC))

    result = await harness.account_sync(customer, lookback_days=1).run()

    watermark = START.astimezone(ET).date()  # the first run's start
    assert result.window == (watermark - timedelta(days=1), date(2026, 11, 20))
    in_window = [
        r for r in harness.sim.truth(customer)["sales_orders"]
        if r["last_changed"].astimezone(ET).date() >= watermark - timedelta(days=1)
    ]  # fmt: skip
    assert 0 < result.counts.listed == len(in_window) < 120
    recorded = await rows(
        harness, f"SELECT window_from, window_to FROM {S}.sync_runs WHERE id = $1", result.run_id
    )
    assert recorded == [result.window]


async def test_the_first_run_lists_everything_and_sets_the_watermark_to_its_start(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    result = await harness.account_sync(customer).run()
    assert result.window == (None, START.astimezone(ET).date())
    assert await rows(harness, f"SELECT watermark FROM {S}.sync_state") == [(START,)]


async def test_watermark_stays_when_the_window_could_not_be_listed(harness: SimHarness) -> None:
    customer = harness.customers[0]
    await harness.account_sync(customer).run()
    harness.clock.advance(3600)
    harness.client = harness.make_client(base_url=harness.running.base_url + "/nowhere")

    result = await harness.account_sync(customer).run()

    assert result.outcome == "failed"
    assert result.error is not None and result.error.startswith("listing failed")
    assert await rows(harness, f"SELECT watermark FROM {S}.sync_state") == [(START,)]
    runs = await rows(harness, f"SELECT outcome, error FROM {S}.sync_runs ORDER BY id")
    assert runs[-1][0] == "failed" and "404" in runs[-1][1]


async def test_a_second_change_in_the_minute_of_our_fetch_is_still_caught(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    sync = harness.account_sync(customer)
    await sync.run()
    order = an_open_order(harness, customer)
    harness.clock.set(START + timedelta(minutes=5, seconds=10))
    harness.sim.set_hold(customer, order, True)  # LastChanged = 15:05
    harness.clock.advance(10)
    first = await sync.run()  # fetches at 15:05:20: On Hold
    assert first.counts.loaded >= 1
    harness.clock.advance(20)
    harness.sim.set_hold(customer, order, False)  # 15:05:40, LastChanged still 15:05
    assert status_of(harness, customer, order) == "Open"
    # 15:09: the stamp we hold is equal, but our fetch at 15:05:20 was inside its minute
    harness.clock.set(START + timedelta(minutes=9))

    second = await sync.run()

    assert second.api.calls[("detail", "200")] >= 1
    assert second.counts.loaded >= 1  # the release, caught
    await assert_matches_truth(harness.engine, harness.sim, customer)
    harness.clock.advance(600)
    third = await sync.run()  # everything was now fetched safely after its minute
    assert third.counts.fetched == 0 and ("detail", "200") not in third.api.calls


async def test_a_touched_order_is_fetched_but_its_unchanged_content_is_not_rewritten(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    sync = harness.account_sync(customer)
    await sync.run()
    order = harness.sim.order_numbers(customer)[3]
    children_before = await rows(
        harness,
        f"SELECT xmin::text, line_number FROM {S}.sales_order_lines "
        "WHERE sales_order_number = $1 ORDER BY line_number",
        order,
    )
    harness.clock.advance(3600)
    harness.sim.touch(customer, order)
    harness.clock.advance(600)

    result = await sync.run()

    assert (result.counts.fetched, result.counts.unchanged, result.counts.loaded) == (1, 1, 0)
    children_after = await rows(
        harness,
        f"SELECT xmin::text, line_number FROM {S}.sales_order_lines "
        "WHERE sales_order_number = $1 ORDER BY line_number",
        order,
    )
    assert children_after == children_before  # same row versions: nothing rewritten
    await assert_matches_truth(harness.engine, harness.sim, customer)  # the new LastChanged too


async def test_children_that_vanish_from_the_payload_vanish_from_the_warehouse(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    sync = harness.account_sync(customer)
    await sync.run()
    harness.clock.advance(3600)
    dropped = []
    for order in harness.sim.order_numbers(customer):
        lines = [
            r["line_number"] for r in harness.sim.truth(customer)["sales_order_lines"]
            if r["sales_order_number"] == order
        ]  # fmt: skip
        if len(lines) > 2 and any(harness.sim.drop_line(customer, order, n) for n in lines):
            dropped.append(order)
        if len(dropped) == 3:
            break
    assert len(dropped) == 3
    harness.clock.advance(600)

    result = await sync.run()

    assert result.counts.loaded == 3
    await assert_matches_truth(harness.engine, harness.sim, customer)


async def test_every_observed_status_change_is_recorded_once_with_when_we_saw_it(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    sync = harness.account_sync(customer)
    await sync.run()
    order = an_open_order(harness, customer)
    seen: list[tuple[str, str | None, datetime]] = []
    for change in ("hold", "release", "ship", "noop"):
        harness.clock.advance(3600)
        if change == "hold":
            harness.sim.set_hold(customer, order, True)
        elif change == "release":
            harness.sim.set_hold(customer, order, False)
        elif change == "ship":
            assert harness.sim.ship_next(customer, order)
        harness.clock.advance(600)
        before = status_of(harness, customer, order)
        await sync.run()
        seen.append((before, None, harness.clock.now()))

    history = await rows(
        harness,
        f"SELECT status, previous_status, observed_at FROM {S}.sales_order_status_history "
        "WHERE sales_order_number = $1 ORDER BY observed_at",
        order,
    )
    expected_statuses = ["Open", "On Hold", "Open", seen[2][0]]
    assert [h[0] for h in history] == expected_statuses
    assert [h[1] for h in history] == [None, "Open", "On Hold", "Open"]
    assert history[0][2] == START  # the first sync observed it
    assert [h[2] for h in history[1:]] == [s[2] for s in seen[:3]]  # when each run saw it
    assert seen[2][0] in ("Partially Shipped", "Completely Shipped")


async def test_a_change_in_the_hour_repeated_when_dst_ends_is_read_as_the_api_writes_it(
    harness_factory: Any,
) -> None:
    """'11/1/2026 1:30 AM' happens twice in New York; the stamp carries no offset, so both the
    syncer and the truth read it as the first (EDT), and the skip rule stays consistent."""
    first_0120 = datetime(2026, 11, 1, 5, 20, tzinfo=UTC)
    h: SimHarness = await harness_factory(
        start=first_0120 + timedelta(hours=1), orders_per_account=30
    )
    assert h.clock.now().astimezone(ET).fold == 1  # 1:20 AM EST, the second 1:20
    customer = h.customers[0]
    sync = h.account_sync(customer)
    await sync.run()
    order = h.sim.order_numbers(customer)[5]
    h.clock.advance(600)
    h.sim.touch(customer, order)  # at the second 1:30 AM
    listed = await h.client.list_page(customer, sales_order_number=order)
    assert listed[0]["LastChanged"] == "11/1/2026 1:30 AM"
    h.clock.advance(600)

    changed = await sync.run()

    assert changed.counts.fetched >= 1
    held = await rows(
        h, f"SELECT last_changed FROM {S}.sales_orders WHERE sales_order_number = $1", order
    )
    assert held == [(datetime(2026, 11, 1, 5, 30, tzinfo=UTC),)]  # read as 1:30 AM EDT
    await assert_matches_truth(h.engine, h.sim, customer)
    h.clock.advance(3600)
    again = await sync.run()
    assert again.counts.fetched == 0  # equal stamps, fetched safely: skipped
