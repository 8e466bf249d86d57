"""Incremental runs after a full sync: none changed (must make 0 detail calls), then 5% changed.

    python bench/incremental.py [--orders 20000] [--quick] [--changed-share 0.05]

The simulator (its own process, fake clock) holds N orders; the warehouse is filled by a real
full sync. Then, on the clock: a run with nothing changed; the simulator's lifecycle changes 5%
of the orders (ship the next delivery, hold, release, or an edit that only moves LastChanged);
a run that must fetch exactly those. Printed: time, detail calls, CPU, peak RSS, and the
changed run against a bare aiohttp loop GETting the same details (measured right after).
Exit status 1 if the unchanged run made a detail call or the changed run fetched anything else.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import common
from common import START, SimProcess, in_child


def _args() -> Any:
    return common.arguments(
        __doc__ or "",
        orders=20_000,
        quick=2_000,
        extra=lambda p: p.add_argument("--changed-share", type=float, default=0.05),
    )


async def main() -> None:
    args = _args()
    n = args.orders
    changed_n = max(1, round(n * args.changed_share))
    out: list[list[object]] = []
    problems: list[str] = []
    with SimProcess(orders=n) as sim:
        async with common.fresh_database(args.database_url, "incr") as db:

            async def run(label: str, minutes: int) -> common.Measured:
                now = START + timedelta(minutes=minutes)
                sim.call("set_clock", now)
                hits0 = sim.call("detail_hits")
                await common.checkpoint(db)  # each run writes its own pages only
                m = in_child(common.sync_run, db, sim.info, now, common.BATCH_SIZE, sim=sim)
                m.extra["details"] = sim.call("detail_hits") - hits0
                r = m.result
                out.append([label, m.wall, r["listed"], r["skipped"], m.extra["details"],
                            r["loaded"], r["unchanged"], m.cpu, r["db_cpu"], m.sim_cpu,
                            m.peak_rss_mb])  # fmt: skip
                return m

            full = await run("full sync", 5)
            none = await run("nothing changed", 15)
            if none.extra["details"] != 0:
                problems.append(f"the unchanged run made {none.extra['details']} detail calls")
            sim.call("set_clock", START + timedelta(minutes=20))
            kinds, numbers = sim.call("change", changed_n, 7)
            changed = await run(f"{changed_n:,} changed", 30)
            if changed.extra["details"] != len(numbers):
                problems.append(
                    f"the changed run made {changed.extra['details']} detail calls for "
                    f"{len(numbers)} changed orders"
                )
            floor = in_child(common.floor_get, sim.info, numbers, sim=sim)
    floor_s = floor.result["detail_seconds"]
    out.append([f"floor: bare GET of the {len(numbers):,}", floor_s, "", "", len(numbers), "",
                "", floor.cpu, "", floor.sim_cpu, floor.peak_rss_mb])  # fmt: skip
    common.table(
        f"incremental runs on {n:,} orders (changes: "
        + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
        + ")",
        out,
        ["", "seconds", "listed", "skipped", "details", "loaded", "unchanged", "CPU s",
         "db CPU s", "sim CPU s", "peak RSS MB"],
    )  # fmt: skip
    print(f"\n  changed run ÷ bare GETs of the same details: {changed.wall / floor_s:.2f}x")
    print(f"  changed run ÷ full sync: {changed.wall / full.wall:.3f}x "
          f"(for {changed_n / n:.0%} of the orders)")  # fmt: skip
    print(f"  unchanged run: {none.extra['details']} detail calls, {none.wall:.2f} s")
    common.exit_on(problems)


if __name__ == "__main__":
    common.run(main)
