"""The same number of changed orders on a small and a large warehouse; peak RSS at both sizes.

    python bench/scale.py [--orders 10000 100000] [--changes 1000] [--quick]

For each size, on a fresh simulator (its own process) and a fresh database: a real full sync
fills the warehouse (its peak RSS is the "RSS at N orders"); three days later a poll finds
nothing new; the simulator's lifecycle changes `--changes` orders, and a real incremental run
applies them (measured: it lists exactly those orders at both sizes). Printed: both runs'
time, CPU and peak RSS, and the ratios large ÷ small. Exit status 1 when something is grossly
wrong — the incremental run fetched other than the changed orders, or the full sync's peak RSS
grew by more than `--max-rss-growth-mb` from the small size to the large — never on timing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import common
from common import START, SimProcess, in_child


def _extra(p: Any) -> None:
    p.add_argument("--sizes", type=int, nargs=2, default=None, help="default 10000 100000")
    p.add_argument("--changes", type=int, default=None, help="default 1000 (quick: 100)")
    p.add_argument("--max-rss-growth-mb", type=float, default=30.0)


async def one_size(args: Any, n: int, changes: int) -> dict[str, Any]:
    with SimProcess(orders=n) as sim:
        async with common.fresh_database(args.database_url, f"scale{n}") as db:
            sim.call("set_clock", START)
            at = START + timedelta(minutes=5)
            await common.checkpoint(db)
            full = in_child(common.sync_run, db, sim.info, at, common.BATCH_SIZE, sim=sim)
            # Three quiet days and a poll: the watermark moves past the simulator's own history,
            # so that the measured poll lists the changed orders only, at both sizes.
            at = START + timedelta(days=3)
            sim.call("set_clock", at)
            in_child(common.sync_run, db, sim.info, at, common.BATCH_SIZE)
            sim.call("set_clock", at + timedelta(minutes=10))
            kinds, numbers = sim.call("change", changes, 7)
            at += timedelta(minutes=20)
            sim.call("set_clock", at)
            hits0 = sim.call("detail_hits")
            await common.checkpoint(db)  # the full sync's pages are not this run's to write
            incr = in_child(common.sync_run, db, sim.info, at, common.BATCH_SIZE, sim=sim)
            details = sim.call("detail_hits") - hits0
    return {"n": n, "full": full, "incr": incr, "details": details, "changed": len(numbers),
            "kinds": kinds}  # fmt: skip


async def main() -> None:
    args = common.arguments(__doc__ or "", orders=10_000, quick=1_000, extra=_extra)
    small, large = args.sizes or ((1_000, 10_000) if args.quick else (10_000, 100_000))
    changes = args.changes or (100 if args.quick else 1_000)
    results = [await one_size(args, n, changes) for n in (small, large)]
    rows: list[list[object]] = []
    for r in results:
        f, i = r["full"], r["incr"]
        rows.append([f"{r['n']:,} orders: full sync", f.wall, r["n"] / f.wall, f.cpu,
                     f.result["db_cpu"], f.peak_rss_mb])  # fmt: skip
        rows.append([f"{r['n']:,} orders: {r['changed']:,} changed", i.wall, "", i.cpu,
                     i.result["db_cpu"], i.peak_rss_mb])  # fmt: skip
    common.table(
        f"{changes:,} changed orders on {small:,} and {large:,} orders "
        f"(changes: {', '.join(f'{k} {v}' for k, v in sorted(results[1]['kinds'].items()))})",
        rows,
        ["", "seconds", "orders/s", "CPU s", "db CPU s", "peak RSS MB"],
    )
    s, g = results
    growth = g["full"].peak_rss_mb - s["full"].peak_rss_mb
    small_db, large_db = s["incr"].result["db_cpu"], g["incr"].result["db_cpu"]
    db_ratio = f", {large_db / small_db:.2f}x database CPU" if small_db and large_db else ""
    print(f"\n  changed run, {large:,} ÷ {small:,} orders: "
          f"{g['incr'].wall / s['incr'].wall:.2f}x time{db_ratio}")  # fmt: skip
    print(f"  full sync peak RSS, {large:,} ÷ {small:,} orders: "
          f"{g['full'].peak_rss_mb / s['full'].peak_rss_mb:.2f}x ({growth:+.1f} MB)")  # fmt: skip
    problems = [
        f"{r['n']:,} orders: the changed run made {r['details']} detail calls for "
        f"{r['changed']} changed orders"
        for r in results
        if r["details"] != r["changed"]
    ]
    if growth > args.max_rss_growth_mb:
        problems.append(f"peak RSS grew by {growth:.0f} MB from {small:,} to {large:,} orders")
    common.exit_on(problems)


if __name__ == "__main__":
    common.run(main)
