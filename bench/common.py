"""Shared by the benchmarks: fresh databases, measured child processes, the syncer's run and
the two floors (a bare HTTP loop, a bare COPY), and printing.

Every measured thing runs in a fresh child process (spawn), so its peak RSS and CPU seconds are
its own; the simulator runs in another process (`simproc`), on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simproc import START, SimInfo, SimProcess, cpu_seconds

from syncer.config.settings import Settings

LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
# The syncer's defaults, which the benchmarks measure unless told otherwise (the bare loop runs
# at the same concurrency).
CONCURRENCY: int = Settings.model_fields["api_concurrency"].default
BATCH_SIZE: int = Settings.model_fields["sync_batch_size"].default
WRITERS: int = Settings.model_fields["sync_writers"].default

__all__ = ["START", "SimInfo", "SimProcess"]


# -- arguments and output --------------------------------------------------------------------


def arguments(
    description: str, orders: int, quick: int, extra: Callable[[Any], None] | None = None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if extra is not None:
        extra(parser)
    parser.add_argument("--orders", type=int, default=None, help=f"orders (default {orders:,})")
    parser.add_argument("--quick", action="store_true", help=f"a short run ({quick:,} orders)")
    parser.add_argument("--database-url", default=os.environ.get("SYNCER_DATABASE_URL") or LOCAL)
    args = parser.parse_args()
    args.orders = args.orders or (quick if args.quick else orders)
    return args


def table(title: str, rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    cells = [[str(h) for h in header], *[[_fmt(v) for v in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for n, r in enumerate(cells):
        print("  " + "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in
                               enumerate(zip(r, widths, strict=True))))  # fmt: skip
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


# -- databases ---------------------------------------------------------------------------------


def plain(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(
    admin_url: str, tag: str, template: str | None = None
) -> AsyncIterator[str]:
    """A new database with the schema migrated in, or a copy of `template` (a database URL);
    dropped afterwards."""
    import asyncpg
    from sqlalchemy.engine import make_url

    from syncer.warehouse import database as db

    name = f"syncer_bench_{tag}_{uuid.uuid4().hex[:8]}"
    admin = plain(admin_url)
    con = await asyncpg.connect(admin)
    try:
        create = f'CREATE DATABASE "{name}"'
        if template is not None:
            create += f' TEMPLATE "{make_url(template).database}"'
            # A file copy: Postgres 15's default (WAL_LOG) writes every page of it to the WAL.
            if con.get_server_version().major >= 15:
                create += " STRATEGY FILE_COPY"
        await con.execute(create)
    finally:
        await con.close()
    url = make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        if template is None:
            engine = db.create_engine(url, pool_size=1)
            try:
                await db.upgrade(engine)
            finally:
                await engine.dispose()
        yield url
    finally:
        con = await asyncpg.connect(admin)
        try:
            await con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await con.close()


async def table_rows(url: str) -> int:
    """The rows a full sync writes: the data tables' and the status history's."""
    import asyncpg

    from syncer.warehouse import schema

    con = await asyncpg.connect(plain(url))
    try:
        total = 0
        for t in (*schema.DATA_TABLES, schema.sales_order_status_history):
            total += await con.fetchval(f"SELECT count(*) FROM {schema.SCHEMA}.{t.name}")
        return int(total)
    finally:
        await con.close()


# -- measured child processes ----------------------------------------------------------------


@dataclass
class Measured:
    wall: float  # seconds
    cpu: float  # CPU seconds of the child process during the measured call
    peak_rss_mb: float  # the child process's peak resident memory, start-up included
    base_rss_mb: float  # resident memory before the call (interpreter and imports)
    result: Any = None
    sim_cpu: float = 0.0  # CPU seconds the simulator spent meanwhile
    extra: dict[str, Any] = field(default_factory=dict)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def measured(fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...]) -> Measured:
    base = _rss_mb()
    queued0 = _queued_seconds()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    result = asyncio.run(fn(*args))
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KB on Linux
    queued = None if queued0 is None else (_queued_seconds() or 0.0) - queued0
    return Measured(wall, cpu, peak, base, result, extra={"queued": queued})


def _queued_seconds() -> float | None:
    """Seconds this process's threads have spent ready to run but waiting for a core (Linux
    schedstat); None where the kernel does not say. Threads that have ended are no longer
    listed: in practice this is the event loop's thread."""
    total = 0.0
    try:
        for task in Path("/proc/self/task").iterdir():
            total += int((task / "schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None
    return total


def in_child(
    fn: Callable[..., Awaitable[Any]], *args: Any, sim: SimProcess | None = None
) -> Measured:
    """Run `await fn(*args)` in a fresh process and measure it (and the simulator's CPU)."""
    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        pool.submit(_warm).result()  # start the process (and its imports) outside the timing
        sim_cpu0 = sim.call("cpu") if sim else 0.0
        result: Measured = pool.submit(measured, fn, args).result()
        if sim:
            result.sim_cpu = sim.call("cpu") - sim_cpu0
    return result


def _warm() -> None:
    import syncer.service.runtime
    import syncer.sync.account  # noqa: F401


# -- what is measured -----------------------------------------------------------------------


async def sync_run(
    db_url: str,
    info: SimInfo,
    now: datetime,
    batch_size: int,
    writers: int = WRITERS,
    defer_foreign_keys: bool = True,
) -> dict[str, Any]:
    """One real run of the syncer against the simulator: the production wiring (settings,
    runtime, transport, AccountSync) with the bench's clock."""
    from syncer.config.accounts import Account
    from syncer.config.simulator import simulator_settings
    from syncer.service.runner import summary
    from syncer.service.runtime import open_runtime
    from syncer.sync.account import AccountSync

    settings = simulator_settings(
        info,
        info,
        database_url=db_url,
        api_concurrency=CONCURRENCY,
        api_rate_burst=CONCURRENCY,
        api_max_in_flight=CONCURRENCY,
        accounts=[Account(customer_number=info.customer)],
        sync_batch_size=batch_size,
        sync_writers=writers,
        sync_defer_foreign_keys=defer_foreign_keys,
    )
    async with open_runtime(settings) as rt:
        client = rt.clients[info.customer]
        sync = AccountSync(rt.engine, client, info.customer, rt.options(), clock=lambda: now)
        result = await sync.run()
        db_cpu = await database_cpu(rt.engine)
    if result.outcome != "succeeded":
        raise RuntimeError(f"sync {result.outcome}: {result.error}")
    return {**summary(result), "db_cpu": db_cpu}


async def database_cpu(engine: Any) -> float | None:
    """CPU seconds of the server processes serving this database (its pool's connections),
    when the server runs on this machine; None otherwise."""
    import psutil

    from syncer.warehouse import loader

    async with loader.connection(engine) as con:
        address = await con.fetchval("SELECT host(inet_server_addr())")
        pids = await con.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        )
    if address not in (None, "127.0.0.1", "::1"):
        return None  # another machine's processes
    total = 0.0
    for (pid,) in pids:
        try:
            process = psutil.Process(pid)
            if "postgres" not in process.name():
                return None
            t = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        total += t.user + t.system
    return total


async def _token(http: Any, info: SimInfo) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": info.client_id,
        "client_secret": info.client_secret,
        "scope": info.scope,
    }
    async with http.post(info.token_url, data=form) as r:
        token = (await r.json())["access_token"]
    return {"Ocp-Apim-Subscription-Key": info.subscription_key, "Authorization": f"Bearer {token}"}


async def _list_all(http: Any, info: SimInfo, headers: dict[str, str]) -> list[dict[str, Any]]:
    import orjson

    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        params = {"customerNumber": info.customer, "page": str(page), "pageSize": "1000"}
        async with http.get(f"{info.base_url}/list", params=params, headers=headers) as r:
            got = orjson.loads(await r.read())
        rows.extend(got)
        if len(got) < 1000:
            return rows
        page += 1


async def _fetch_details(
    http: Any, info: SimInfo, headers: dict[str, str], numbers: Sequence[str], keep: bool
) -> list[bytes]:
    """The bare loop: N workers, each GET and read, nothing else."""
    bodies: list[bytes] = [b""] * len(numbers) if keep else []
    todo = iter(enumerate(numbers))

    async def worker() -> None:
        for i, number in todo:
            params = {"customerNumber": info.customer, "salesOrderNumber": number}
            async with http.get(f"{info.base_url}/detail", params=params, headers=headers) as r:
                body = await r.read()
                if r.status != 200:
                    raise RuntimeError(f"detail {number}: HTTP {r.status}")
            if keep:
                bodies[i] = body

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return bodies


async def floor_fetch(info: SimInfo) -> dict[str, Any]:
    """Floor (a): GET every detail with a bare aiohttp loop (the list is read first, timed
    apart)."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    async with aiohttp.ClientSession(connector=connector) as http:
        headers = await _token(http, info)
        t0 = time.perf_counter()
        numbers = [r["OrderNumber"] for r in await _list_all(http, info, headers)]
        t1 = time.perf_counter()
        await _fetch_details(http, info, headers, numbers, keep=False)
        t2 = time.perf_counter()
    return {"orders": len(numbers), "list_seconds": t1 - t0, "detail_seconds": t2 - t1}


async def floor_get(info: SimInfo, numbers: Sequence[str]) -> dict[str, Any]:
    """The bare loop over given orders (the details an incremental run needs)."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=CONCURRENCY * 2)
    async with aiohttp.ClientSession(connector=connector) as http:
        headers = await _token(http, info)
        t0 = time.perf_counter()
        await _fetch_details(http, info, headers, numbers, keep=False)
        return {"detail_seconds": time.perf_counter() - t0}


async def floor_copy(db_url: str, info: SimInfo) -> dict[str, Any]:
    """Floor (b): the rows the syncer would write, built beforehand (not timed), COPYed into
    the same tables (timed): one COPY per table, parents first, one transaction. Every row a
    full sync writes: the orders, their children and each order's first status."""
    import aiohttp
    import asyncpg

    from syncer.api.payload import decode, parse_list_row
    from syncer.warehouse import loader, schema
    from syncer.warehouse.rows import CHILD_COLUMNS, HEADER_COLUMNS, build_rows

    async with aiohttp.ClientSession() as http:
        headers = await _token(http, info)
        listed = [parse_list_row(r) for r in await _list_all(http, info, headers)]
        numbers = [r.order_number or "" for r in listed]
        bodies = await _fetch_details(http, info, headers, numbers, keep=True)
    orders = [
        build_rows(info.customer, row, decode(body), body, START)
        for row, body in zip(listed, bodies, strict=True)
    ]
    del bodies, listed
    headers_rows = [o.header for o in orders]
    statuses = loader.first_statuses(orders, START)
    children = {t: [r for o in orders for r in o.children[t]] for t in CHILD_COLUMNS}
    del orders
    total = len(headers_rows) + len(statuses) + sum(len(v) for v in children.values())
    await checkpoint(db_url)
    con = await asyncpg.connect(plain(db_url))
    try:
        cpu0 = await _backend_cpu(con)
        t0 = time.perf_counter()
        async with con.transaction():
            await con.copy_records_to_table(
                "sales_orders", schema_name=schema.SCHEMA, records=headers_rows,
                columns=HEADER_COLUMNS,
            )  # fmt: skip
            await con.copy_records_to_table(
                loader.HISTORY, schema_name=schema.SCHEMA, records=statuses,
                columns=loader.HISTORY_COLUMNS,
            )  # fmt: skip
            for t in schema.CHILD_TABLES:
                await con.copy_records_to_table(
                    t.name, schema_name=schema.SCHEMA, records=children[t.name],
                    columns=CHILD_COLUMNS[t.name],
                )  # fmt: skip
        seconds = time.perf_counter() - t0
        cpu1 = await _backend_cpu(con)
    finally:
        await con.close()
    db_cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return {"rows": total, "copy_seconds": seconds, "db_cpu": db_cpu}


async def checkpoint(url: str) -> None:
    """Write every dirty page now, so that neither the previous write's pages nor a checkpoint
    it made due land inside the next measurement: every measured write starts just after a
    checkpoint (and pays the full-page images that follow one, as a poll in production does).
    Skipped when the role may not (CHECKPOINT needs superuser or pg_checkpoint)."""
    import asyncpg

    con = await asyncpg.connect(plain(url))
    try:
        await con.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        pass
    finally:
        await con.close()


async def _backend_cpu(con: Any) -> float | None:
    """CPU seconds of this connection's server process, when it runs on this machine."""
    import psutil

    if await con.fetchval("SELECT host(inet_server_addr())") not in (None, "127.0.0.1", "::1"):
        return None
    try:
        t = psutil.Process(await con.fetchval("SELECT pg_backend_pid()")).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None
    return float(t.user + t.system)


def exit_on(problems: Sequence[str]) -> None:
    """Print what is grossly wrong and exit with status 1 (timings are never a problem)."""
    for p in problems:
        print(f"PROBLEM: {p}")
    if problems:
        sys.exit(1)


def run(main: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(main())
