"""Peak memory of the syncer for very large details, per byte of body.

    python bench/big_detail.py [--megabytes 100] [--shape lines|serials] [--big 1]

The simulator (its own process) serves --big orders whose details are grown to about
--megabytes MB each (`lines`: many order lines with a few serial numbers each; `serials`: ten
lines with very many serial numbers), among a few ordinary ones. A sync with the production
wiring (settings, runtime, transport, AccountSync) runs in a fresh process, into a fresh
database, with api_max_response_bytes raised above the bodies. Printed: the bodies' size, the
process's peak RSS (resource.getrusage ru_maxrss, start-up included), its RSS before the sync,
and both over the size of one body and of all of them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import common
from common import START, SimInfo, SimProcess, in_child


async def sync_big(db_url: str, info: SimInfo, now: datetime, cap: int) -> dict[str, Any]:
    from syncer.config.accounts import Account
    from syncer.config.simulator import simulator_settings
    from syncer.service.runner import summary
    from syncer.service.runtime import open_runtime
    from syncer.sync.account import AccountSync

    settings = simulator_settings(
        info, info, database_url=db_url, accounts=[Account(customer_number=info.customer)],
        api_timeout_seconds=300.0, api_call_deadline_seconds=900.0, api_max_response_bytes=cap,
    )  # fmt: skip
    async with open_runtime(settings) as rt:
        client = rt.clients[info.customer]
        result = await AccountSync(rt.engine, client, info.customer, rt.options(),
                                   clock=lambda: now).run()  # fmt: skip
    if result.outcome != "succeeded" or result.counts.failed:
        raise RuntimeError(f"sync {result.outcome}: {result.error}; {summary(result)}")
    return summary(result)


async def main() -> None:
    def extra(p: Any) -> None:
        p.add_argument("--megabytes", type=float, default=100.0, help="size of each (100)")
        p.add_argument("--shape", choices=("lines", "serials"), default="lines")
        p.add_argument("--big", type=int, default=1, help="how many large orders (1)")

    args = common.arguments(__doc__ or "", orders=20, quick=20, extra=extra)
    with SimProcess(orders=max(args.orders, args.big)) as sim:
        numbers, size = sim.call("big_details", args.megabytes, args.shape, args.big)
        async with common.fresh_database(args.database_url, "big") as db:
            run = in_child(sync_big, db, sim.info, START, 2 * size + (1 << 20), sim=sim)
    mb = size / 1e6
    print(
        f"{len(numbers)} detail(s) of {mb:,.1f} MB ({args.shape}) and "
        f"{run.result['loaded'] - len(numbers)} other orders, synced in {run.wall:.1f} s"
    )
    print(f"peak RSS {run.peak_rss_mb:,.0f} MB ({run.peak_rss_mb / mb:.1f}x one body, "
          f"{run.peak_rss_mb / mb / len(numbers):.1f}x all); before the sync "
          f"{run.base_rss_mb:,.0f} MB")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
