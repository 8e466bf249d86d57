"""Details that are not what they seem, over real HTTP into a real Postgres: a hollow detail is
quarantined, never loaded over the order held; over-long text is cut with a marker; a date the
syncer cannot read is NULL and counted."""

from __future__ import annotations

import logging
import re
from typing import Any

import orjson
import pytest

from syncer.api.values import MAX_TEXT
from syncer.service.runner import summary
from syncer.sim import FaultConfig
from syncer.warehouse import schema
from tests.integration.conftest import SimHarness
from tests.integration.test_failures import assert_recovers, detail, rows
from tests.log_events import events
from tests.truth import assert_matches_truth, warehouse

S = schema.SCHEMA


def hollow(kind: str, full: dict[str, Any]) -> dict[str, Any]:
    number = full["SalesOrderNumber"]
    if kind == "empty":
        return {}
    if kind == "number_only":
        return {"SalesOrderNumber": number}
    if kind == "no_status":  # a header the mapping cannot use: no Status
        return {**full, "Status": None}
    assert kind == "lost_lines"  # the list still shows the lines this detail lost
    return {**full, "SalesOrderLines": None, "Deliveries": None}


REASONS = {
    "empty": "no SalesOrderNumber, no Status, no SalesOrderLines (the list shows",
    "number_only": "no Status, no SalesOrderLines (the list shows",
    "no_status": "the detail has no Status",
    "lost_lines": "the detail has no SalesOrderLines (the list shows",
}


@pytest.mark.parametrize("kind", sorted(REASONS))
async def test_a_hollow_detail_is_quarantined_and_the_order_held_stays_whole(
    harness: SimHarness, kind: str
) -> None:
    customer = harness.customers[0]
    sync = harness.account_sync(customer)
    assert (await sync.run()).counts.loaded == 120
    number = next(
        n for n in harness.sim.order_numbers(customer) if detail(harness, n)["Deliveries"]
    )
    held = await warehouse(harness.engine, customer)

    # The order changes (so the next run fetches it) and the API answers with a hollow detail.
    harness.clock.advance(600)
    harness.sim.touch(customer, number)
    body = hollow(kind, detail(harness, number))
    harness.sim.detail_overrides[number] = (200, orjson.dumps(body))
    harness.clock.advance(600)
    second = await sync.run()

    assert second.outcome == "succeeded"
    assert (second.counts.fetched, second.counts.loaded, second.counts.failed) == (1, 0, 1)
    assert await warehouse(harness.engine, customer) == held  # lines, deliveries, header: all
    [(stage, reason)] = await rows(
        harness, f"SELECT stage, reason FROM {S}.sync_failures WHERE sales_order_number = $1",
        number,
    )  # fmt: skip
    assert stage == "parse" and reason.startswith("not a usable order: ")
    assert REASONS[kind] in reason

    await assert_recovers(harness, sync, number)


async def test_a_detail_for_another_order_is_quarantined_with_both_numbers(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    mine, other = harness.sim.order_numbers(customer)[3:5]
    harness.sim.detail_overrides[mine] = (200, orjson.dumps(detail(harness, other)))

    result = await harness.account_sync(customer).run()

    assert (result.counts.loaded, result.counts.failed) == (119, 1)
    [(reason,)] = await rows(harness, f"SELECT reason FROM {S}.sync_failures")
    assert reason == f"not a usable order: the detail is for order {other!r}, not {mine!r}"
    await assert_matches_truth(harness.engine, harness.sim, customer, exclude={mine})


TRUNCATED = re.compile(r"…\[truncated ([\d,]+) characters\]$")


@pytest.mark.parametrize("path", ["plain", "quirky"])
async def test_text_over_the_limit_is_cut_with_a_marker_and_kept_whole_in_raw(
    harness_factory: Any, path: str
) -> None:
    # Plain bodies are read straight into the structs (syncer.api.payload); float_ints sends
    # every order to the fields' rules instead.
    quirky = {"quirk_rate": 1.0, "quirks": frozenset({"float_ints"})} if path == "quirky" else {}
    faults = FaultConfig(long_text_rate=0.3, long_text_chars=12_345, **quirky)
    h: SimHarness = await harness_factory(orders_per_account=40, faults=faults)
    customer = h.customers[0]
    long = {n: m for n in h.sim.order_numbers(customer) if (m := h.sim.faults.long_memo(n))}
    assert len(long) >= 5 and all(len(m) > MAX_TEXT for m in long.values())

    result = await h.account_sync(customer).run()

    assert (result.counts.loaded, result.counts.failed) == (40, 0)
    stored = dict(
        (n, (memo, raw_memo))
        for n, memo, raw_memo in await rows(
            h, f"SELECT sales_order_number, memo, raw->>'Memo' FROM {S}.sales_orders"
        )
    )
    for number, full in long.items():
        memo, raw_memo = stored[number]
        assert raw_memo == full  # the whole text stays in raw
        marker = TRUNCATED.search(memo)
        assert marker is not None, memo[-60:]
        kept = memo[: marker.start()]
        assert len(memo) <= MAX_TEXT and len(kept) > MAX_TEXT - 100
        assert full.startswith(kept) and int(marker[1].replace(",", "")) == len(full) - len(kept)
    await assert_matches_truth(h.engine, h.sim, customer, exclude=set(long))


async def test_an_unreadable_date_is_null_and_counted_per_field_and_logged_once_a_run(
    harness: SimHarness, caplog: pytest.LogCaptureFixture
) -> None:
    customer = harness.customers[0]
    details = {n: detail(harness, n) for n in harness.sim.order_numbers(customer)}
    scheduled = [n for n, d in details.items() if d["SalesOrderLines"][0]["ScheduleLines"]]
    shipped = [n for n, d in details.items() if d["Deliveries"] and n not in scheduled]
    edits = {
        scheduled[0]: ("LastShipDate", "not a date"),
        scheduled[1]: ("EstimatedShipDate", "31/31/2026"),
        scheduled[2]: ("EstimatedShipDate", "2026-02-30"),
        shipped[0]: ("ShippedDate", "soon"),
    }
    for number, (name, text) in edits.items():
        body = details[number]
        if name == "EstimatedShipDate":
            body["SalesOrderLines"][0]["ScheduleLines"][0][name] = text
        elif name == "ShippedDate":
            body["Deliveries"][0][name] = text
        else:
            body[name] = text
        harness.sim.detail_overrides[number] = (200, orjson.dumps(body))

    with caplog.at_level(logging.WARNING, logger="syncer.sync.pipeline"):
        result = await harness.account_sync(customer).run()

    assert (result.counts.loaded, result.counts.failed) == (120, 0)
    counted = {"last_ship_date": 1, "estimated_ship_date": 2, "shipped_date": 1}
    assert result.counts.unreadable_dates == counted
    assert summary(result)["unreadable_dates"] == counted  # the run's summary line shows them
    warned = events(caplog, "no date")
    assert len(warned) == 3  # one per field and run, not one per order
    assert {w["field"] for w in warned} == set(counted)
    assert any(w["field"] == "estimated_ship_date"
               and re.fullmatch(r"31/31/2026|2026-02-30", w["text"]) for w in warned)  # fmt: skip
    assert any(w["field"] == "last_ship_date" and w["text"] == "not a date" for w in warned)
    assert all(w["account"] == result.account and w["run_id"] == result.run_id for w in warned)
    assert await rows(
        harness,
        f"SELECT last_ship_date, raw->>'LastShipDate' FROM {S}.sales_orders "
        "WHERE sales_order_number = $1",
        scheduled[0],
    ) == [(None, "not a date")]  # fmt: skip
    for number in scheduled[1:3]:
        assert await rows(
            harness,
            f"SELECT estimated_ship_date FROM {S}.sales_order_line_schedules "
            "WHERE sales_order_number = $1 ORDER BY line_number, seq LIMIT 1",
            number,
        ) == [(None,)]  # fmt: skip
    assert await rows(
        harness,
        f"SELECT shipped_date FROM {S}.deliveries WHERE sales_order_number = $1 "
        "AND delivery_document_number = $2",
        shipped[0], details[shipped[0]]["Deliveries"][0]["DeliveryDocumentNumber"],
    ) == [(None,)]  # fmt: skip
    # Every other date as the API gave it.
    await assert_matches_truth(harness.engine, harness.sim, customer, exclude=set(edits))
