"""Who is running while a full sync runs: the syncer, the simulator, Postgres's backends.

    python bench/occupancy.py [--orders 20000] [--quick] [--latency-ms 0] [--interval-ms 2]

At 0 ms latency the three share the machine's cores, and a core sits idle whenever fewer of
them than cores are ready to run. This samples, every --interval-ms through one sync, which of
them the kernel has running or ready to run (state R in /proc/PID/stat; Linux only, and the
database must run on this machine), and prints how often each set of them was: how much of the
time one process ran alone, and which one. A diagnostic, not a figure against a target: it
says which process the others were waiting for.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import common
import psutil
from common import START, SimProcess


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False  # gone (a backend that closed)
    return stat[stat.rindex(b")") + 2 : stat.rindex(b")") + 3] == b"R"


def _backends(database: str) -> list[int]:
    """Postgres processes serving `database` (their title names it)."""
    out = []
    for p in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(p.info["cmdline"] or ())
        if "postgres" in (p.info["name"] or "") and f" {database} " in cmdline:
            out.append(p.pid)
    return out


def _sample(
    stop: threading.Event, pids: dict[str, int], database: str, interval: float, seen: Counter[Any]
) -> None:
    backends: list[int] = []
    found_at = 0.0
    while not stop.is_set():
        # The writers connect after the run starts, one after another, and a short run may end
        # within half a second: looked for at every sample until there are as many backends as
        # writers, then twice a second.
        if len(backends) < common.WRITERS or time.monotonic() - found_at > 0.5:
            backends, found_at = _backends(database), time.monotonic()
        names = [name for name, pid in pids.items() if _running(pid)]
        running_pg = sum(_running(pid) for pid in backends)
        names += ["postgres"] * running_pg
        seen[tuple(names)] += 1
        time.sleep(interval)


def _extra(p: Any) -> None:
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--interval-ms", type=float, default=2.0)


async def main() -> None:
    args = common.arguments(__doc__ or "", orders=20_000, quick=2_000, extra=_extra)
    seen: Counter[tuple[str, ...]] = Counter()
    with SimProcess(orders=args.orders, latency_ms=args.latency_ms) as sim:
        async with common.fresh_database(args.database_url, "occupancy") as db:
            database = db.rsplit("/", 1)[1]
            await common.checkpoint(db)
            with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
                pids = {"syncer": pool.submit(os.getpid).result(), "simulator": sim.pid}
                stop = threading.Event()
                sampler = threading.Thread(
                    target=_sample, args=(stop, pids, database, args.interval_ms / 1000, seen)
                )
                sampler.start()
                try:
                    run = pool.submit(
                        common.measured, common.sync_run, (db, sim.info, START, common.BATCH_SIZE)
                    ).result()
                finally:
                    stop.set()
                    sampler.join()
    samples = sum(seen.values())
    if not any("postgres" in names for names in seen):
        common.exit_on(["no Postgres backend of the sync was seen: is the database local?"])
    by_count: Counter[int] = Counter()
    for names, n in seen.items():
        by_count[len(names)] += n
    print(f"\nfull sync of {args.orders:,} orders at {args.latency_ms:g} ms: {run.wall:.1f} s; "
          f"CPU s: syncer {run.cpu:.1f}, Postgres {run.result['db_cpu'] or 0:.1f}; "
          f"{samples:,} samples, one every {run.wall / samples * 1000:.1f} ms")  # fmt: skip
    common.table(
        f"processes running or ready to run ({os.cpu_count()} cores)",
        [[k, f"{n / samples:.1%}"] for k, n in sorted(by_count.items())],
        ["how many", "share of the time"],
    )
    common.table(
        "which, most often first",
        [[" + ".join(k) or "(none)", f"{n / samples:.1%}"] for k, n in seen.most_common(12)],
        ["running", "share of the time"],
    )
    alone = {names[0]: n / samples for names, n in seen.items() if len(names) == 1}
    print("\nalone: " + ", ".join(f"{k} {v:.1%}" for k, v in sorted(alone.items())))


if __name__ == "__main__":
    if not Path("/proc/self/stat").exists():
        common.exit_on(["this needs Linux's /proc"])
    common.run(main)
