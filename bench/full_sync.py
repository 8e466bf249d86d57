"""Full sync of N simulated orders against the floor, at 0 ms and 20 ms API latency.

    python bench/full_sync.py [--orders 20000] [--quick] [--latency-ms 0 20] [--batch-size 200]
                                [--writers 2] [--repeat 1] [--row-by-row]

For each latency, on a fresh simulator (its own process) and fresh databases, in one run:
  floor (a)  a bare aiohttp loop GETs every detail at the syncer's concurrency (the list is
             read before, not timed);
  floor (b)  the rows the syncer writes, built beforehand, COPYed into the same tables;
  sync       `AccountSync.run()` with the production wiring, into an empty warehouse: a first
             load, whose foreign keys are checked once at its end
             (`syncer/warehouse/foreign_keys.py`; `--row-by-row` checks each row as it is
             written, as floor (b) does).
Printed: orders/s, rows/s, CPU seconds, peak RSS, and sync ÷ floor, where the floor is
max(a, b) (perfect overlap of fetching and writing) and, for reference, a + b (none). With
every process on one machine, the floors' CPU seconds over the cores bound a run as well: at
0 ms, when every process is CPU-bound, that bound is the larger one; it is printed too, with
how long the syncer ran, waited for a core (Linux schedstat) and sat idle waiting for I/O.

`--repeat N` measures the three N times, in turn, and keeps the best of each (as timeit does: on
a shared machine, noise only ever adds time); every round's own ratio is printed too.
"""

from __future__ import annotations

import os
from typing import Any

import common
from common import START, Measured, SimProcess, in_child


async def one_latency(args: object, latency_ms: float) -> tuple[list[list[object]], list[str]]:
    orders: int = args.orders  # type: ignore[attr-defined]
    url: str = args.database_url  # type: ignore[attr-defined]
    batch: int = args.batch_size  # type: ignore[attr-defined]
    writers: int = args.writers  # type: ignore[attr-defined]
    defer = not args.row_by_row  # type: ignore[attr-defined]
    rounds: list[tuple[Measured, Measured, Measured]] = []
    with SimProcess(orders=orders, latency_ms=latency_ms) as sim:
        for _ in range(args.repeat):  # type: ignore[attr-defined]
            fetch = in_child(common.floor_fetch, sim.info, sim=sim)
            async with common.fresh_database(url, "floor") as floor_db:
                copy = in_child(common.floor_copy, floor_db, sim.info)
            async with common.fresh_database(url, "sync") as db:
                hits0 = sim.call("detail_hits")
                await common.checkpoint(db)  # as before floor (b): each write starts clean
                sync = in_child(common.sync_run, db, sim.info, START, batch, writers, defer,
                                sim=sim)  # fmt: skip
                details = sim.call("detail_hits") - hits0
                rows = await common.table_rows(db)
            n = sync.result["loaded"]
            assert n == orders == details, (n, orders, details)
            assert rows == copy.result["rows"], (rows, copy.result["rows"])
            rounds.append((fetch, copy, sync))
    fetch = min((r[0] for r in rounds), key=lambda m: m.result["detail_seconds"])
    copy = min((r[1] for r in rounds), key=lambda m: m.result["copy_seconds"])
    sync = min((r[2] for r in rounds), key=lambda m: m.wall)
    fetch_s = fetch.result["detail_seconds"]
    copy_s = copy.result["copy_seconds"]
    floor = max(fetch_s, copy_s)
    rows = copy.result["rows"]
    tag = f"{latency_ms:g} ms"
    rows_out: list[list[object]] = []
    rows_out.append([f"floor (a) GET {tag}", fetch_s, orders / fetch_s, "", fetch.cpu, "",
                     fetch.sim_cpu, fetch.peak_rss_mb, ""])  # fmt: skip
    rows_out.append([f"floor (b) COPY {tag}", copy_s, orders / copy_s, rows / copy_s, "",
                     copy.result["db_cpu"], "", "", ""])  # fmt: skip
    rows_out.append([f"sync {tag}", sync.wall, orders / sync.wall, rows / sync.wall, sync.cpu,
                     sync.result["db_cpu"], sync.sim_cpu, sync.peak_rss_mb,
                     f"{sync.wall / floor:.2f}x max(a,b); "
                     f"{sync.wall / (fetch_s + copy_s):.2f}x a+b"])  # fmt: skip
    # On this machine the simulator, the client and Postgres share the cores: the floors' own
    # CPU seconds, spread perfectly over every core, bound any run too.
    floor_cpu = fetch.cpu + fetch.sim_cpu + (copy.result["db_cpu"] or 0.0)
    cores = os.cpu_count() or 1
    notes = [f"  {tag}: the floors need {floor_cpu:.1f} CPU s, at least {floor_cpu / cores:.1f} s "
             f"on {cores} cores; sync ÷ the larger of that and max(a,b): "
             f"{sync.wall / max(floor, floor_cpu / cores):.2f}x"]  # fmt: skip
    queued = sync.extra["queued"]
    if queued is not None:
        # Time queued for a core: the cores were busy with the simulator and Postgres while the
        # syncer had work. What is left of the wall time, it waited for the API or the database.
        notes.append(f"  {tag}: the syncer ran {sync.cpu:.1f} s and waited for a core "
                     f"{queued:.1f} s of its {sync.wall:.1f} s (idle the rest: "
                     f"{1 - (sync.cpu + queued) / sync.wall:.0%})")  # fmt: skip
    if len(rounds) > 1:
        each = [r[2].wall / max(r[0].result["detail_seconds"], r[1].result["copy_seconds"])
                for r in rounds]  # fmt: skip
        notes.append(f"  {tag}, best of {len(rounds)} rounds above; each round's sync: "
                     + ", ".join(f"{r[2].wall:.1f} s" for r in rounds)
                     + "; its ÷ max(a,b) of the same round: "
                     + ", ".join(f"{x:.2f}x" for x in each))  # fmt: skip
    return rows_out, notes


def _extra(p: Any) -> None:
    p.add_argument("--latency-ms", type=float, nargs="+", default=[0, 20])
    p.add_argument("--batch-size", type=int, default=common.BATCH_SIZE, help="sync_batch_size")
    p.add_argument("--writers", type=int, default=common.WRITERS, help="sync_writers")
    p.add_argument(
        "--row-by-row",
        action="store_true",
        help="sync_defer_foreign_keys off: the first load's foreign keys checked row by row",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        choices=range(1, 11),
        metavar="1..10",
        help="rounds; the best of each is kept",
    )


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
        rows, latency_notes = await one_latency(args, latency)
        out.extend(rows)
        notes.extend(latency_notes)
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
