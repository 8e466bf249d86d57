"""What turning a detail into rows costs the syncer's CPU, step by step, per order.

    python bench/parse.py [--orders 2000] [--quick] [--repeat 3]

The simulator's detail bodies (built in this process, not timed) go through each step the
syncer takes: the transport's check that a body is JSON (`syncer.api.jsonread.check`), decoding
into the payload's structs (msgspec, `syncer.api.payload.decode`), then rows for COPY from them
(`syncer.warehouse.rows.build_rows`, hashing included). For comparison: what a body off the
canonical form costs to decode (JSON, then each field's rule: `payload.parse_detail`), and
plain JSON decoding by orjson and by the standard library's json. Printed: microseconds per order
(best of --repeat) and the share of the syncer's path. No database and no HTTP:
bench/full_sync.py measures the whole.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import common
import orjson
import simproc

from syncer.api import jsonread, payload
from syncer.api.payload import decode, parse_list_row
from syncer.sim import FakeClock, SimConfig, Simulator, Subscription, payloads
from syncer.warehouse.rows import build_rows

AT = datetime(2026, 11, 20, 15, 5, tzinfo=UTC)


def bodies(n: int) -> tuple[list[bytes], list[Any]]:
    sub = Subscription(customer_numbers=(simproc.CUSTOMER,), **simproc.SUBSCRIPTION)
    sim = Simulator(SimConfig(subscriptions=(sub,), orders_per_account=n), FakeClock(simproc.START))
    states = sim.orders_of(simproc.CUSTOMER)
    details = [sim.detail_bytes(s, False) for s in states]
    listed = [parse_list_row(payloads.list_row(sim.view(s), False)) for s in states]
    return details, listed


def best(step: Callable[[], object], repeat: int, n: int) -> float:
    """Microseconds per order, the best of `repeat` passes over all orders."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return min(times) / n * 1e6


def main() -> None:
    args = common.arguments(
        __doc__ or "", orders=2_000, quick=300,
        extra=lambda p: p.add_argument("--repeat", type=int, default=3),
    )  # fmt: skip
    raw, listed = bodies(args.orders)
    n, r = len(raw), args.repeat
    details = [decode(b) for b in raw]

    def each(fn: Callable[[int], object]) -> Callable[[], None]:
        def run() -> None:
            for i in range(n):
                fn(i)

        return run

    steps: Sequence[tuple[str, Callable[[], None]]] = [
        ("decode into the structs (msgspec)", each(lambda i: decode(raw[i]))),
        ("rows from the structs (tuples, hash)", each(lambda i: build_rows(
            simproc.CUSTOMER, listed[i], details[i], raw[i], AT))),
    ]  # fmt: skip
    others: Sequence[tuple[str, Callable[[], None]]] = [
        ("the transport's JSON check", each(lambda i: jsonread.check(raw[i]))),
        ("off the canonical form: JSON, then the rules",
         each(lambda i: payload.parse_detail(payload._json(raw[i])))),
        ("decode JSON (orjson)", each(lambda i: orjson.loads(raw[i]))),
        ("decode JSON (stdlib json)", each(lambda i: json.loads(raw[i]))),
    ]  # fmt: skip
    measured = [(name, best(fn, r, n)) for name, fn in steps]
    total = sum(us for _, us in measured)
    rows = sum(build_rows(simproc.CUSTOMER, listed[i], details[i], raw[i], AT).row_count()
               for i in range(n))  # fmt: skip
    out: list[list[object]] = [[name, us, f"{us / total:.0%}"] for name, us in measured]
    out.append(["the syncer's path", total, "100%"])
    for name, fn in others:
        us = best(fn, r, n)
        out.append([name, us, f"{us / total:.0%}"])
    size = sum(len(b) for b in raw) / n
    common.table(
        f"{n:,} orders ({rows / n:.0f} rows and {size / 1000:.1f} KB of JSON per order)",
        out,
        ["step", "µs per order", "share"],
    )


if __name__ == "__main__":
    main()
