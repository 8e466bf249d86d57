"""Benchmark: a full sync against a simulator that allows R requests/s per subscription key.

For 5, 20 and 50 requests in flight it syncs N orders and prints: completed or not (every order
loaded, nothing in sync_failures), achieved API requests/s ÷ R (the quota actually used; requests
counted as the simulator's gateway saw them), and 429s ÷ requests. Target: completes every time,
ratio >= 0.9, 429s <= 2%.

Two client configurations are measured in the same run: the limiter's ceiling set to the quota
(`known quota`: what the settings tell users to do), and set to `--unknown-factor` times the
quota (`unknown quota`: the limiter has to find the limit from 429s alone).

    python bench/rate_limit.py                 # N=500, R=50: about a minute
    python bench/rate_limit.py --quick         # a few seconds, for CI: fails if a sync fails
    python bench/rate_limit.py --orders 3000 --rate 100 --in-flight 5,20,50

Postgres: SYNCER_BENCH_DATABASE_URL (a server where a scratch database may be created), else the
server on 127.0.0.1:5432, else an embedded Postgres in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from syncer.config.accounts import Account
from syncer.config.settings import Settings
from syncer.config.simulator import simulator_settings
from syncer.service.runtime import open_runtime
from syncer.sim import FakeClock, FaultConfig, SimConfig, Simulator, Subscription, run_simulator
from syncer.warehouse import database as db
from syncer.warehouse import schema

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
SUB = Subscription("bench-client", "bench-secret", "bench-key", ("1000012345",))
DECREASE = [Settings.model_fields["api_rate_decrease"].default]
RECOVERY = [Settings.model_fields["api_rate_recovery_seconds"].default]
TARGET_RATIO = 0.9
TARGET_THROTTLED = 0.02


@dataclass
class Row:
    client: str
    in_flight: int
    completed: bool
    seconds: float
    requests: int
    throttled: int
    ratio: float  # accepted API requests per second ÷ R

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.requests if self.requests else 0.0

    def meets_target(self) -> bool:
        return (
            self.completed
            and self.ratio >= TARGET_RATIO
            and self.throttled_share <= TARGET_THROTTLED
        )


async def _answers(url: str) -> bool:
    try:
        con = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await con.close()
    return True


@contextlib.asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A migrated database of our own, dropped afterwards."""
    admin = os.environ.get("SYNCER_BENCH_DATABASE_URL") or LOCAL
    if not await _answers(admin):
        with (
            tempfile.TemporaryDirectory(prefix="syncer-bench-pg-") as tmp,
            db.embedded_postgres(Path(tmp)) as url,
        ):
            await _migrate(url)
            yield url
        return
    name = f"syncer_bench_{uuid.uuid4().hex[:8]}"
    con = await asyncpg.connect(admin)
    await con.execute(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        await _migrate(url)
        yield url
    finally:
        await con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await con.close()


async def _migrate(url: str) -> None:
    engine = db.create_engine(url, pool_size=1)
    try:
        await db.upgrade(engine)
    finally:
        await engine.dispose()


async def _empty(url: str) -> None:
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    con = await asyncpg.connect(plain)
    try:
        tables = ", ".join(f"{schema.SCHEMA}.{t.name}" for t in schema.metadata.sorted_tables)
        await con.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await con.close()


async def one_sync(
    url: str, *, orders: int, rate: float, in_flight: int, ceiling: float, burst: int, label: str
) -> Row:
    await _empty(url)
    # The gateway allows `rate` per second with one second's worth of burst (APIM's
    # rate-limit-by-key calls=R renewal-period=1), answers 429 + whole-second Retry-After.
    faults = FaultConfig(rate_limit=rate, rate_limit_burst=max(1, round(rate)))
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    sim = Simulator(
        SimConfig(subscriptions=(SUB,), orders_per_account=orders, faults=faults),
        FakeClock(start),
    )
    async with run_simulator(sim) as running:
        settings = simulator_settings(
            running,
            SUB,
            database_url=url,
            api_rate_limit_per_second=ceiling,
            api_rate_burst=burst,
            api_rate_decrease=DECREASE[0],
            api_rate_recovery_seconds=RECOVERY[0],
            api_max_in_flight=in_flight,
            api_concurrency=in_flight,
            accounts=[Account(customer_number=SUB.customer_numbers[0])],
        )
        async with open_runtime(settings) as rt:
            started = time.perf_counter()
            try:
                result = await rt.account_sync(SUB.customer_numbers[0]).run()
                ok = result.outcome == "succeeded" and result.counts.loaded == orders
            except Exception as exc:  # a failed sync is a result here, reported loudly
                print(f"  sync raised {type(exc).__name__}: {exc}", file=sys.stderr)
                ok = False
            seconds = time.perf_counter() - started
            async with rt.engine.connect() as conn:
                held = (await conn.exec_driver_sql(
                    f"SELECT count(*) FROM {schema.SCHEMA}.sales_orders")).scalar()  # fmt: skip
                failed = (await conn.exec_driver_sql(
                    f"SELECT count(*) FROM {schema.SCHEMA}.sync_failures")).scalar()  # fmt: skip
    arrivals = list(sim.faults.journal)
    throttled = sum(1 for a in arrivals if a.status == 429)
    accepted = len(arrivals) - throttled
    return Row(
        client=label,
        in_flight=in_flight,
        completed=ok and held == orders and failed == 0,
        seconds=seconds,
        requests=len(arrivals),
        throttled=throttled,
        ratio=accepted / seconds / rate,
    )


def _print(rows: list[Row], rate: float, orders: int) -> None:
    print(f"\n{orders} orders, gateway limit R = {rate:g} requests/s per key")
    head = f"{'client':<22}{'in flight':>10}{'completed':>11}{'seconds':>9}{'requests':>10}"
    print(head + f"{'req/s ÷ R':>11}{'429s ÷ req':>12}  target")
    for r in rows:
        verdict = "met" if r.meets_target() else "MISSED"
        print(
            f"{r.client:<22}{r.in_flight:>10}{'yes' if r.completed else 'NO':>11}"
            f"{r.seconds:>9.1f}{r.requests:>10}{r.ratio:>11.3f}{r.throttled_share:>12.2%}"
            f"  {verdict}"
        )
    print(
        f"target: completed, req/s ÷ R >= {TARGET_RATIO}, 429s ÷ requests <= {TARGET_THROTTLED:.0%}"
    )


async def main(args: argparse.Namespace) -> int:
    levels = [int(x) for x in args.in_flight.split(",")]
    rows: list[Row] = []
    async with scratch_database() as url:
        for f in levels:
            rows.append(await one_sync(url, orders=args.orders, rate=args.rate, in_flight=f,
                                       ceiling=args.rate, burst=args.burst,
                                       label="known quota"))  # fmt: skip
        if args.unknown_factor > 0:
            for f in levels:
                rows.append(await one_sync(
                    url, orders=args.orders, rate=args.rate, in_flight=f,
                    ceiling=args.rate * args.unknown_factor, burst=args.burst,
                    label=f"unknown quota (x{args.unknown_factor:g})",
                ))  # fmt: skip
    _print(rows, args.rate, args.orders)
    if not all(r.completed for r in rows):
        print("FAILED: a sync did not complete", file=sys.stderr)
        return 1
    known = [r for r in rows if r.client == "known quota"]
    if not args.quick and not all(r.meets_target() for r in known):
        print("FAILED: the target was missed with the quota configured", file=sys.stderr)
        return 1
    return 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=500, help="orders to sync (N)")
    p.add_argument("--rate", type=float, default=50.0, help="the gateway's limit (R), requests/s")
    p.add_argument("--in-flight", default="5,20,50", help="comma-separated levels")
    p.add_argument("--burst", type=int, default=Settings.model_fields["api_rate_burst"].default,
                   help="the client's api_rate_burst (default: the setting's default)")  # fmt: skip
    p.add_argument("--unknown-factor", type=float, default=2.0,
                   help="also run with the ceiling at this multiple of R (0: skip)")  # fmt: skip
    p.add_argument("--quick", action="store_true",
                   help="tiny run for CI; fails only if a sync does not complete")  # fmt: skip
    p.add_argument("--decrease", type=float, default=DECREASE[0], help="api_rate_decrease")
    p.add_argument("--recovery", type=float, default=RECOVERY[0],
                   help="api_rate_recovery_seconds")  # fmt: skip
    args = p.parse_args(argv)
    DECREASE[0], RECOVERY[0] = args.decrease, args.recovery
    if args.quick:
        args.orders, args.rate, args.unknown_factor = 60, 40.0, 2.0
    return args


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sys.exit(asyncio.run(main(parse())))
