"""The lifecycle driver: random order events on the simulator's clock, reproducible from the
seed and the clock alone, each stamped with its own minute and within the lifecycle's rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from syncer.sim import FakeClock, SimConfig, Simulator
from syncer.sim.clock import to_minute
from syncer.sim.intake import parse_order
from syncer.sim.state import CANCELLED, QUOTATION, status_of

START = datetime(2024, 3, 7, 19, 15, tzinfo=UTC)
CUSTOMER = "1000012345"


def make(**config: Any) -> Simulator:
    settings = {"orders_per_account": 100, "lifecycle_events_per_hour": 60.0, **config}
    return Simulator(SimConfig(**settings), FakeClock(START))


def clock(sim: Simulator) -> FakeClock:
    assert isinstance(sim.clock, FakeClock)
    return sim.clock


def test_without_a_rate_no_order_changes_on_its_own() -> None:
    sim = make(lifecycle_events_per_hour=0.0, orders_per_account=40)
    before = sim.truth()
    clock(sim).advance(timedelta(days=10))
    assert sim.driver is None
    assert sim.truth() == before


def test_history_depends_on_seed_and_clock_not_on_how_often_the_clock_is_read() -> None:
    at_once, in_steps, other_seed = make(), make(), make(seed=7)
    for sim in (at_once, other_seed):
        clock(sim).advance(timedelta(hours=12))
        sim.settle()
    rng = random.Random(3)
    while clock(in_steps).now() < clock(at_once).now():
        left = (clock(at_once).now() - clock(in_steps).now()).total_seconds()
        clock(in_steps).advance(min(rng.uniform(1, 1800), left))
        in_steps.settle()

    assert at_once.driver and in_steps.driver and other_seed.driver
    assert sum(at_once.driver.applied.values()) > 500
    assert at_once.driver.log == in_steps.driver.log
    assert at_once.truth() == in_steps.truth()
    assert at_once.truth() != other_seed.truth()


def test_each_event_is_stamped_with_its_own_minute() -> None:
    sim = make()
    clock(sim).advance(timedelta(hours=6))
    sim.settle()  # one catch-up for six hours of events
    assert sim.driver is not None
    log = sim.driver.log

    minutes = [m for m, _, _ in log]
    assert minutes == sorted(minutes)
    assert to_minute(START) <= minutes[0] and minutes[-1] <= to_minute(clock(sim).now())
    assert len(set(minutes)) > 150  # spread over the six hours, not all stamped "now"
    latest = {number: minute for minute, _, number in log}
    for number, minute in latest.items():
        s = sim.find(number)
        assert s is not None and s.last_changed == minute, number


def test_events_follow_the_order_lifecycle() -> None:
    sim = make(lifecycle_events_per_hour=120.0)
    counts = {c: len(sim.order_numbers(c)) for c in sim.customer_numbers()}
    clock(sim).advance(timedelta(days=3))
    sim.settle()
    assert sim.driver is not None
    applied = sim.driver.applied

    assert set(applied) == {"ship", "create", "touch", "release", "hold", "cancel"}
    created = sum(len(sim.order_numbers(c)) - n for c, n in counts.items())
    assert created == applied["create"]
    now = to_minute(clock(sim).now())
    for c in sim.customer_numbers():
        for s in sim.orders_of(c):
            assert list(s.shipped_at) == sorted(s.shipped_at) and all(
                m <= now for m in s.shipped_at
            )
            assert len(s.shipped_at) <= s.n_deliveries
            if status_of(s) in (CANCELLED, QUOTATION):
                assert not s.shipped_at  # cancel only before shipping; quotes never ship
    shipped_by_driver = {n for _, kind, n in sim.driver.log if kind == "ship"}
    assert any(status_of(sim.find(n)) == "Completely Shipped" for n in shipped_by_driver)  # type: ignore[arg-type]


def test_events_arrive_at_the_configured_rate() -> None:
    sim = make(lifecycle_events_per_hour=20.0, orders_per_account=30)
    clock(sim).advance(timedelta(hours=48))
    sim.settle()
    assert sim.driver is not None
    assert 0.8 * 960 < sim.driver.fired < 1.2 * 960


def test_async_orders_and_driver_events_apply_in_time_order() -> None:
    sim = make(create_delay_seconds=1800, lifecycle_events_per_hour=240.0)
    spec = parse_order(
        {"BusinessUnit": 1700, "PONumber": "PO-ORDERED", "Lines": [{"PartNumber": "MR36-HW",
         "Quantity": 1}], "VRD": [{"ID": "EU_NAME", "Value": "A"}, {"ID": "EU_COUNTRY",
         "Value": "US"}]},
        sim.default_ship_to(CUSTOMER),
        sim.items.find,
    )  # fmt: skip
    due = sim.submit_order(CUSTOMER, spec)
    clock(sim).advance(timedelta(hours=2))
    placed = next(s for s in sim.orders_of(CUSTOMER) if s.po_number == "PO-ORDERED")

    assert placed.date_entered == int(due) // 60
    assert sim.driver is not None
    created = {n: m for m, kind, n in sim.driver.log if kind == "create" and n.startswith("7")}
    mine = [(m, n) for n, m in created.items() if sim.find(n).customer == CUSTOMER]  # type: ignore[union-attr]
    assert any(m < placed.date_entered for m, _ in mine) and any(
        m > placed.date_entered for m, _ in mine
    )
    for minute, number in mine:  # numbers follow the order in which orders were placed
        assert (number < placed.order_number) == (minute < placed.date_entered)


def test_changed_since_finds_exactly_the_orders_a_scan_would_after_a_day_of_events() -> None:
    sim = make(orders_per_account=300, lifecycle_events_per_hour=120.0)
    start = to_minute(START)
    clock(sim).advance(timedelta(hours=20))
    sim.settle()
    assert sim.driver is not None and sum(sim.driver.applied.values()) > 100
    for customer in sim.customer_numbers():
        for since in (start - 100_000, start - 60, start + 300, start + 900, start + 5_000):
            scanned = [s for s in sim.orders_of(customer) if s.last_changed >= since]
            assert sim.changed_since(customer, since) == scanned
