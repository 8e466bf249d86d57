"""The BI views answer with what the simulator knows to be true.

Expected answers come from the simulator's ground truth (`Simulator.truth()`, its order views)
and from the lifecycle the test drives on the fake clock — never from the views' own SQL.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from syncer.sim.catalog import BEST_WAY_CARRIERS, SHIPPING_OPTIONS
from syncer.sim.state import status_of
from tests.integration.conftest import SimHarness
from tests.integration.views import (
    by_key,
    group,
    key,
    load_payload,
    local_day,
    payload_of,
    pick,
    read_view,
    sync_all,
)

NOT_LIVE = ("Cancelled", "Quotation/Sales")

# The carriers' public tracking pages, by the codes the simulator emits (None: no public page).
CARRIERS: dict[str, tuple[str, str | None]] = {
    "UPS": ("UPS", "https://www.ups.com/track?tracknum="),
    "FEDEX": ("FedEx", "https://www.fedex.com/fedextrack/?trknbr="),
    "USPS": ("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels="),
    "DHL": ("DHL", "https://www.dhl.com/global-en/home/tracking.html?submit=1&tracking-id="),
    "PUROLATOR": ("Purolator", "https://www.purolator.com/en/shipping/tracker?pin="),
    "ROYALMAIL": ("Royal Mail", "https://www.royalmail.com/track-your-item#/tracking-results/"),
    "DPD": ("DPD", "https://tracking.dpd.de/status/en_US/parcel/"),
    "RLCA": ("R+L Carriers", None),
}


def age_bucket(days: int) -> str:
    if days <= 7:
        return "00-07 days"
    if days <= 30:
        return "08-30 days"
    if days <= 60:
        return "31-60 days"
    if days <= 90:
        return "61-90 days"
    return "91+ days"


# -- open backorders ---------------------------------------------------------------------------


def expected_backorders(truth: dict[str, list[dict[str, Any]]], now: Any) -> dict[Any, tuple]:
    orders = by_key(truth["sales_orders"])
    schedules = defaultdict(list)
    for s in truth["sales_order_line_schedules"]:
        schedules[(*key(s), s["line_number"])].append(s["estimated_ship_date"])
    today = local_day(now)
    out = {}
    for line in truth["sales_order_lines"]:
        order = orders[key(line)]
        if line["back_ordered"] <= 0 or order["status"] in NOT_LIVE:
            continue
        age = (today - local_day(order["date_entered"])).days
        dates = schedules[(*key(line), line["line_number"])]
        out[(*key(line), line["line_number"])] = (
            order["status"], line["item_number"], line["back_ordered"],
            line["back_ordered"] * line["price"], line["currency"], order["date_entered"],
            age, age_bucket(age), min(dates, default=None), max(dates, default=None),
        )  # fmt: skip
    return out


def actual_backorders(rows: list[dict[str, Any]]) -> dict[Any, tuple]:
    columns = "order_status item_number back_ordered back_ordered_value currency date_entered "
    columns += "age_days age_bucket earliest_estimated_ship_date latest_estimated_ship_date"
    return {(*key(r), r["line_number"]): pick(r, columns) for r in rows}


async def test_open_backorders_are_the_backordered_lines_of_live_orders_with_age_and_dates(
    harness: SimHarness,
) -> None:
    await sync_all(harness)

    now, rows = await read_view(harness.engine, "open_backorders")

    expected = expected_backorders(harness.sim.truth(), now)
    assert len(expected) >= 5  # the simulator has backorders to show
    assert actual_backorders(rows) == expected
    assert len(rows) == len(expected)  # one row per line, no fan-out from schedules


async def test_a_cancelled_order_leaves_open_backorders_and_a_shipment_moves_its_lines(
    harness: SimHarness,
) -> None:
    await sync_all(harness)
    _, before = await read_view(harness.engine, "open_backorders")
    open_orders = sorted({key(r) for r in before if r["order_status"] == "Open"})
    live = sorted({key(r) for r in before if r["order_status"] == "Partially Shipped"})
    assert open_orders and live
    harness.clock.advance(timedelta(days=1))
    assert harness.sim.cancel(*open_orders[0])
    assert harness.sim.ship_next(*live[0])
    harness.clock.advance(600)

    await sync_all(harness)
    now, after = await read_view(harness.engine, "open_backorders")

    assert open_orders[0] not in {key(r) for r in after}
    assert actual_backorders(after) == expected_backorders(harness.sim.truth(), now)


async def test_backorder_age_bands_have_their_documented_edges(harness: SimHarness) -> None:
    """Orders entered 0, 7, 8, 30, 31, 60, 61, 90 and 91 days ago (ScanSource days)."""
    customer = harness.customers[0]
    async with harness.engine.connect() as conn:
        today = local_day((await conn.exec_driver_sql("SELECT now()")).scalar_one())
    candidates = [s for s in harness.sim.orders_of(customer) if harness.sim.view(s).lines]
    edges = (0, 7, 8, 30, 31, 60, 61, 90, 91)
    for age, state in zip(edges, candidates, strict=False):
        listed, detail = payload_of(harness, state.order_number)
        entered = today - timedelta(days=age)
        listed["DateEntered"] = f"{entered.month}/{entered.day}/{entered.year} 12:00 PM"
        detail["Status"] = "Open"
        detail["SalesOrderLines"][0]["BackOrdered"] = 1
        await load_payload(harness, customer, listed, detail)

    now, rows = await read_view(harness.engine, "open_backorders")

    bands = {}
    for r in rows:
        assert r["age_days"] == (local_day(now) - local_day(r["date_entered"])).days
        bands[r["age_days"]] = r["age_bucket"]
    assert bands == {age: age_bucket(age) for age in edges}


# -- shipments ---------------------------------------------------------------------------------


def test_every_carrier_the_simulator_ships_with_has_an_expected_name() -> None:
    emitted = {c for opts in SHIPPING_OPTIONS.values() for _, c, _ in opts if c}
    emitted |= {c for carriers in BEST_WAY_CARRIERS.values() for c in carriers}
    assert emitted == set(CARRIERS)


async def test_shipments_are_every_parcel_of_every_delivery_with_carrier_and_tracking_link(
    harness: SimHarness,
) -> None:
    await sync_all(harness)
    truth = harness.sim.truth()
    orders = by_key(truth["sales_orders"])
    parcels = group(truth["delivery_parcels"], "delivery_document_number")
    expected = []
    for d in truth["deliveries"]:
        o = orders[key(d)]
        for p in parcels[(*key(d), d["delivery_document_number"])]:
            name, page = CARRIERS[p["carrier_code"]]
            expected.append((
                *key(d), o["po_number"], d["delivery_document_number"], d["shipped_date"],
                p["seq"], p["carton_number"], p["carrier_code"], name, p["tracking_type"],
                p["tracking_number"], page + p["tracking_number"] if page else None,
                p["weight"], p["weight_uom"], o["shipping_city"], o["shipping_country"],
            ))  # fmt: skip

    _, rows = await read_view(harness.engine, "shipments")

    columns = "customer_number sales_order_number po_number delivery_document_number "
    columns += "shipped_date parcel_seq carton_number carrier_code carrier_name tracking_type "
    columns += "tracking_number tracking_url weight weight_uom shipping_city shipping_country"
    actual = [pick(r, columns) for r in rows]
    assert Counter(actual) == Counter(expected)
    assert len({r[7] for r in expected}) >= 5  # several carriers exercised


async def test_shipments_recognise_carrier_code_variants_and_refuse_odd_tracking_numbers(
    harness: SimHarness,
) -> None:
    """Real carrier codes vary (UPSN, FDXE, "Royal Mail"); a delivery may come without parcels."""
    customer = harness.customers[0]
    order = next(
        s.order_number
        for s in harness.sim.orders_of(customer)
        if len(harness.sim.view(s).deliveries) >= 2
        and len(harness.sim.view(s).deliveries[0].plan.parcels) >= 1
    )
    listed, detail = payload_of(harness, order)
    first, second = detail["Deliveries"][:2]
    variants = [
        ("UPSN", "1Z999AA10123456784"),
        ("FDXE", "123456789012"),
        ("Royal Mail", "AB123456789GB"),
        ("fedex", "7489 1234"),
        ("ACME", "X1"),
    ]
    first["Parcels"] = [
        {**first["Parcels"][0], "CarrierCode": code, "TrackingNumber": number}
        for code, number in variants
    ]
    second["Parcels"] = []
    await load_payload(harness, customer, listed, detail)

    _, rows = await read_view(harness.engine, "shipments", "ORDER BY delivery_document_number")

    by_parcel = {
        (r["delivery_document_number"], r["parcel_seq"]): (r["carrier_name"], r["tracking_url"])
        for r in rows
    }
    d1, d2 = first["DeliveryDocumentNumber"], second["DeliveryDocumentNumber"]
    assert by_parcel[(d1, 1)] == ("UPS", "https://www.ups.com/track?tracknum=1Z999AA10123456784")
    assert by_parcel[(d1, 2)] == ("FedEx", "https://www.fedex.com/fedextrack/?trknbr=123456789012")
    assert by_parcel[(d1, 3)] == (
        "Royal Mail",
        "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB",
    )
    assert by_parcel[(d1, 4)] == ("FedEx", None)  # a space: not put into a link
    assert by_parcel[(d1, 5)] == (None, None)  # unknown carrier
    assert by_parcel[(d2, None)] == (None, None)  # the delivery without parcels, once
    assert len([r for r in rows if r["delivery_document_number"] == d2]) == 1


# -- daily volumes -----------------------------------------------------------------------------


async def test_daily_volumes_count_orders_entered_and_deliveries_shipped_per_day(
    harness: SimHarness,
) -> None:
    await sync_all(harness)
    # Two deliveries of one order on the same day: one order shipped, two deliveries.
    states = [s for c in harness.customers for s in harness.sim.orders_of(c)]
    multi = next(s for s in states if status_of(s) == "Open" and s.n_deliveries >= 2)
    harness.clock.advance(timedelta(days=1))
    assert harness.sim.ship_next(multi.customer, multi.order_number)
    assert harness.sim.ship_next(multi.customer, multi.order_number)
    harness.clock.advance(600)
    await sync_all(harness)
    truth = harness.sim.truth()
    orders = by_key(truth["sales_orders"])
    lines = by_key(truth["sales_order_lines"], "line_number")
    parcels = Counter((*key(p), p["delivery_document_number"]) for p in truth["delivery_parcels"])
    dlines = group(truth["delivery_lines"], "delivery_document_number")
    zero = Decimal(0)
    expected: dict[tuple, list[Any]] = defaultdict(lambda: [0, zero, set(), 0, 0, zero, zero])
    for o in truth["sales_orders"]:
        if o["status"] != "Quotation/Sales":
            v = expected[(o["customer_number"], local_day(o["date_entered"]), o["currency"])]
            v[0] += 1
            v[1] += o["total"]
    for d in truth["deliveries"]:
        o = orders[key(d)]
        v = expected[(d["customer_number"], d["shipped_date"], o["currency"])]
        v[2].add(d["sales_order_number"])
        v[3] += 1
        v[4] += parcels[(*key(d), d["delivery_document_number"])]
        for dl in dlines[(*key(d), d["delivery_document_number"])]:
            v[5] += dl["quantity_shipped"]
            v[6] += dl["quantity_shipped"] * lines[(*key(d), dl["order_line_number"])]["price"]

    _, rows = await read_view(harness.engine, "daily_volumes")

    columns = "orders_entered order_value_entered orders_shipped deliveries_shipped "
    columns += "parcels_shipped units_shipped value_shipped"
    actual = {(r["customer_number"], r["day"], r["currency"]): list(pick(r, columns)) for r in rows}
    assert len(actual) == len(rows)  # one row per account, day and currency
    assert actual == {k: [v[0], v[1], len(v[2]), *v[3:]] for k, v in expected.items()}
    assert len({k[2] for k in actual}) >= 3  # several currencies


# -- order lead times --------------------------------------------------------------------------


def days(seconds: float) -> Decimal:
    return (Decimal(int(seconds)) / Decimal(86_400)).quantize(Decimal("0.01"), ROUND_HALF_UP)


async def test_order_lead_times_date_each_observed_shipment_and_fall_back_to_shipped_dates(
    harness: SimHarness,
) -> None:
    sim = harness.sim
    await sync_all(harness)
    states = [s for c in harness.customers for s in sim.orders_of(c)]
    multi = next(s for s in states if status_of(s) == "Open" and s.n_deliveries >= 2)
    single = next(s for s in states if status_of(s) == "Open" and s.n_deliveries == 1)
    # When each order changed, to the minute (LastChanged has minute precision).
    first_at: dict[str, Any] = {}
    complete_at: dict[str, Any] = {}
    for step in range(multi.n_deliveries):
        harness.clock.advance(timedelta(days=2, minutes=7, seconds=30))
        changed_at = harness.clock.now().replace(second=0, microsecond=0)
        assert sim.ship_next(multi.customer, multi.order_number)
        first_at.setdefault(multi.order_number, changed_at)
        if step == 0:
            assert sim.ship_next(single.customer, single.order_number)
            first_at[single.order_number] = complete_at[single.order_number] = changed_at
        harness.clock.advance(600)
        await sync_all(harness)
    complete_at[multi.order_number] = changed_at

    _, rows = await read_view(harness.engine, "order_lead_times")

    truth = sim.truth()
    deliveries = group(truth["deliveries"])
    expected = {}
    for o in truth["sales_orders"]:
        if o["status"] == "Quotation/Sales":
            continue
        shipped = [d["shipped_date"] for d in deliveries[key(o)]]
        first_date = min(shipped, default=None)
        done_date = max(shipped) if o["status"] == "Completely Shipped" else None
        first, done = (
            first_at.get(o["sales_order_number"]),
            complete_at.get(o["sales_order_number"]),
        )
        entered, day = o["date_entered"], local_day(o["date_entered"])
        expected[key(o)] = (
            o["status"], entered, first, done,
            days((first - entered).total_seconds()) if first else None,
            days((done - entered).total_seconds()) if done else None,
            first_date, done_date,
            (first_date - day).days if first_date else None,
            (done_date - day).days if done_date else None,
            len(shipped),
        )  # fmt: skip
    columns = "status entered_at first_shipment_at completely_shipped_at days_to_first_shipment "
    columns += "days_to_complete first_shipped_date completely_shipped_date "
    columns += "days_to_first_shipped_date days_to_completely_shipped_date deliveries"
    actual = {key(r): pick(r, columns) for r in rows}
    assert actual == expected
    assert actual[(multi.customer, multi.order_number)][2:4] == (
        first_at[multi.order_number],
        complete_at[multi.order_number],
    )
    assert first_at[multi.order_number] < complete_at[multi.order_number]
