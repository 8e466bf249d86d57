"""The same changed orders on a small and a large warehouse; peak RSS at both sizes.

    python bench/scale.py [--sizes 10000 100000] [--changes 1000] [--rounds 5] [--quick]

Each warehouse is built once, from its own simulator (its own process) into its own fresh
database, by a real full sync (its peak RSS is the "RSS at N orders"), and vacuumed and
analyzed as autovacuum would after such a load. Then rounds, the two sizes taking turns (small
first in odd rounds, large first in even ones, so that the machine's load drifting through the
run weighs on both alike), each on a fresh copy of its warehouse and a fresh simulator of the
same seed: three quiet days and a poll (so that the measured run's window holds the changes
only), the simulator's lifecycle changes `--changes` orders, and a real incremental run applies
them (measured: it fetches exactly those orders at both sizes). Every round is the same work:
one 2-second run on a shared machine is mostly noise (1.09-1.59x on one day), the ratio of the
sizes' medians is the figure. (Rounds on one warehouse would not be the same work: at 10,000
orders, 1,562 are still moving, and a second round's changes are mostly edits that leave the
details as they were.) Printed: each round's times and ratio, the ratio of the medians, time
and database CPU. Exit status 1 when something is grossly wrong — a round's changes were not
round 1's, an incremental run fetched other than the changed orders, or the full sync's peak
RSS grew by more than `--max-rss-growth-mb` from the small size to the large — never on timing.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import common
from common import START, Measured, SimProcess, in_child


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _extra(p: Any) -> None:
    p.add_argument("--sizes", type=int, nargs=2, default=None, help="default 10000 100000")
    p.add_argument("--changes", type=int, default=None, help="default 1000 (quick: 100)")
    p.add_argument("--rounds", type=_positive, default=None, help="default 5 (quick: 1)")
    p.add_argument("--max-rss-growth-mb", type=float, default=30.0)


@dataclass
class Warehouse:
    n: int
    db: str  # the filled warehouse, copied for every round
    full: Measured
    runs: list[Measured] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changes: list[tuple[dict[str, int], list[str]]] = field(default_factory=list)  # each round's


async def filled(stack: contextlib.AsyncExitStack, args: Any, n: int) -> Warehouse:
    db = await stack.enter_async_context(common.fresh_database(args.database_url, f"scale{n}"))
    with SimProcess(orders=n) as sim:
        sim.call("set_clock", START)
        await common.checkpoint(db)
        full = in_child(common.sync_run, db, sim.info, START + timedelta(minutes=5),
                        common.BATCH_SIZE, sim=sim)  # fmt: skip
    # What autovacuum does after a load (within a minute or so, or midway through the next
    # round here): once, beforehand, so that every round starts from the same statistics.
    con = await asyncpg.connect(common.plain(db))
    try:
        await con.execute("VACUUM ANALYZE")
    finally:
        await con.close()
    return Warehouse(n, db, full)


async def changed_run(w: Warehouse, args: Any, changes: int) -> None:
    with SimProcess(orders=w.n) as sim:
        async with common.fresh_database(args.database_url, f"round{w.n}", w.db) as db:
            # Three quiet days and a poll: the watermark moves past the simulator's own history,
            # so that the measured poll lists the changed orders only, at both sizes.
            at = START + timedelta(days=3)
            sim.call("set_clock", at)
            in_child(common.sync_run, db, sim.info, at, common.BATCH_SIZE)
            sim.call("set_clock", at + timedelta(minutes=10))
            kinds, numbers = sim.call("change", changes, 7)
            w.changes.append((kinds, numbers))
            at += timedelta(minutes=20)
            sim.call("set_clock", at)
            hits0 = sim.call("detail_hits")
            await common.checkpoint(db)  # the poll's pages are not this run's to write
            w.runs.append(in_child(common.sync_run, db, sim.info, at, common.BATCH_SIZE, sim=sim))
            details = sim.call("detail_hits") - hits0
    if w.changes[-1] != w.changes[0]:
        w.problems.append(f"{w.n:,} orders, round {len(w.runs)}: other changes than round 1's")
    if details != len(numbers):
        w.problems.append(f"{w.n:,} orders, round {len(w.runs)}: the changed run made "
                          f"{details} detail calls for {len(numbers)} changed orders")  # fmt: skip


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if len(known) == len(values) else None


async def main() -> None:
    args = common.arguments(__doc__ or "", orders=10_000, quick=1_000, extra=_extra)
    small_n, large_n = args.sizes or ((1_000, 10_000) if args.quick else (10_000, 100_000))
    changes = args.changes or (100 if args.quick else 1_000)
    rounds = args.rounds or (1 if args.quick else 5)
    async with contextlib.AsyncExitStack() as stack:
        small, large = [await filled(stack, args, n) for n in (small_n, large_n)]
        for r in range(rounds):
            for w in (small, large) if r % 2 == 0 else (large, small):
                await changed_run(w, args, changes)
    rows: list[list[object]] = []
    for w in (small, large):
        f = w.full
        rows.append([f"{w.n:,} orders: full sync", f.wall, w.n / f.wall, f.cpu,
                     f.result["db_cpu"], f.peak_rss_mb])  # fmt: skip
        for i, m in enumerate(w.runs, 1):
            rows.append([f"{w.n:,} orders: {changes:,} changed, round {i}", m.wall, "", m.cpu,
                         m.result["db_cpu"], m.peak_rss_mb])  # fmt: skip
    kinds = "; ".join(
        f"at {w.n:,}: " + ", ".join(f"{k} {v}" for k, v in sorted(w.changes[0][0].items()))
        for w in (small, large)
    )
    common.table(
        f"{changes:,} changed orders on {small_n:,} and {large_n:,} orders, {rounds} rounds; "
        f"{kinds}",
        rows,
        ["", "seconds", "orders/s", "CPU s", "db CPU s", "peak RSS MB"],
    )
    each = ", ".join(f"{g.wall / s.wall:.2f}" for s, g in zip(small.runs, large.runs, strict=True))
    time_ratio = statistics.median(m.wall for m in large.runs) / statistics.median(
        m.wall for m in small.runs
    )
    small_db = _median([m.result["db_cpu"] for m in small.runs])
    large_db = _median([m.result["db_cpu"] for m in large.runs])
    db_ratio = f", {large_db / small_db:.2f}x database CPU" if small_db and large_db else ""
    print(f"\n  changed run, {large_n:,} ÷ {small_n:,} orders, medians of {rounds} rounds: "
          f"{time_ratio:.2f}x time{db_ratio} [rounds {each}]")  # fmt: skip
    growth = large.full.peak_rss_mb - small.full.peak_rss_mb
    print(f"  full sync peak RSS, {large_n:,} ÷ {small_n:,} orders: "
          f"{large.full.peak_rss_mb / small.full.peak_rss_mb:.2f}x ({growth:+.1f} MB)")  # fmt: skip
    problems = small.problems + large.problems
    if growth > args.max_rss_growth_mb:
        problems.append(f"peak RSS grew by {growth:.0f} MB from {small_n:,} to {large_n:,} orders")
    common.exit_on(problems)


if __name__ == "__main__":
    common.run(main)
