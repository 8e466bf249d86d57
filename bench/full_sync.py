"""Full sync of N simulated orders against the floor, at 0 ms and 20 ms API latency.

    python bench/full_sync.py [--orders 20000] [--quick] [--latency-ms 0 20] [--batch-size 200]
                                [--writers 2]

For each latency, on a fresh simulator (its own process) and fresh databases, in one run:
  floor (a)  a bare aiohttp loop GETs every detail at the syncer's concurrency (the list is
             read before, not timed);
  floor (b)  the rows the syncer writes, built beforehand, COPYed into the same tables;
  sync       `AccountSync.run()` with the production wiring, into an empty warehouse.
Printed: orders/s, rows/s, CPU seconds, peak RSS, and sync ÷ floor, where the floor is
max(a, b) (perfect overlap of fetching and writing) and, for reference, a + b (none). With
every process on one machine, the floors' CPU seconds over the cores bound a run as well: at
0 ms, when every process is CPU-bound, that bound is the larger one; it is printed too.
"""

from __future__ import annotations

import os
from typing import Any

import common
from common import START, SimProcess, in_child


async def one_latency(args: object, latency_ms: float) -> tuple[list[list[object]], str]:
    orders: int = args.orders  # type: ignore[attr-defined]
    url: str = args.database_url  # type: ignore[attr-defined]
    rows_out: list[list[object]] = []
    with SimProcess(orders=orders, latency_ms=latency_ms) as sim:
        fetch = in_child(common.floor_fetch, sim.info, sim=sim)
        async with common.fresh_database(url, "floor") as floor_db:
            copy = in_child(common.floor_copy, floor_db, sim.info)
        async with common.fresh_database(url, "sync") as db:
            hits0 = sim.call("detail_hits")
            batch: int = args.batch_size  # type: ignore[attr-defined]
            writers: int = args.writers  # type: ignore[attr-defined]
            await common.checkpoint(db)  # as before floor (b): each write starts clean
            sync = in_child(common.sync_run, db, sim.info, START, batch, writers, sim=sim)
            details = sim.call("detail_hits") - hits0
            rows = await common.table_rows(db)
    fetch_s = fetch.result["detail_seconds"]
    copy_s = copy.result["copy_seconds"]
    floor = max(fetch_s, copy_s)
    n = sync.result["loaded"]
    assert n == orders == details, (n, orders, details)
    assert rows == copy.result["rows"], (rows, copy.result["rows"])
    tag = f"{latency_ms:g} ms"
    rows_out.append([f"floor (a) GET {tag}", fetch_s, orders / fetch_s, "", fetch.cpu, "",
                     fetch.sim_cpu, fetch.peak_rss_mb, ""])  # fmt: skip
    rows_out.append([f"floor (b) COPY {tag}", copy_s, orders / copy_s, rows / copy_s, "",
                     copy.result["db_cpu"], "", "", ""])  # fmt: skip
    rows_out.append([f"sync {tag}", sync.wall, n / sync.wall, rows / sync.wall, sync.cpu,
                     sync.result["db_cpu"], sync.sim_cpu, sync.peak_rss_mb,
                     f"{sync.wall / floor:.2f}x max(a,b); "
                     f"{sync.wall / (fetch_s + copy_s):.2f}x a+b"])  # fmt: skip
    # On this machine the simulator, the client and Postgres share the cores: the floors' own
    # CPU seconds, spread perfectly over every core, bound any run too.
    floor_cpu = fetch.cpu + fetch.sim_cpu + (copy.result["db_cpu"] or 0.0)
    cores = os.cpu_count() or 1
    note = (f"  {tag}: the floors need {floor_cpu:.1f} CPU s, at least {floor_cpu / cores:.1f} s "
            f"on {cores} cores; sync ÷ the larger of that and max(a,b): "
            f"{sync.wall / max(floor, floor_cpu / cores):.2f}x")  # fmt: skip
    return rows_out, note


def _extra(p: Any) -> None:
    p.add_argument("--latency-ms", type=float, nargs="+", default=[0, 20])
    p.add_argument("--batch-size", type=int, default=common.BATCH_SIZE, help="sync_batch_size")
    p.add_argument("--writers", type=int, default=common.WRITERS, help="sync_writers")


async def main() -> None:
    args = common.arguments(
        __doc__ or "",
        orders=20_000,
        quick=2_000,
        extra=_extra,
    )
    out: list[list[object]] = []
    notes: list[str] = []
    for latency in args.latency_ms:
        rows, note = await one_latency(args, latency)
        out.extend(rows)
        notes.append(note)
    common.table(
        f"full sync of {args.orders:,} orders (one account, concurrency {common.CONCURRENCY}, "
        f"batch {args.batch_size}, {args.writers} writers)",
        out,
        [
            "",
            "seconds",
            "orders/s",
            "rows/s",
            "CPU s",
            "db CPU s",
            "sim CPU s",
            "peak RSS MB",
            "ratio",
        ],
    )
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    common.run(main)
