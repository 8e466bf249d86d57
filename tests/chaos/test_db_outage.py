"""The database goes away mid-run: the run fails cleanly (one readable line) or recovers, no
order is ever half-written, and the next run completes the job."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from syncer.errors import DatabaseError
from syncer.warehouse import database as db
from syncer.warehouse import schema
from tests.chaos import summary
from tests.integration.conftest import SimHarness
from tests.integration.test_crash import sync_env
from tests.truth import diff, warehouse

S = schema.SCHEMA


async def loaded_orders_are_whole(h: SimHarness) -> int:
    """Every order in the warehouse has exactly its true children: nothing half-written."""
    actual = await warehouse(h.engine)
    loaded = {r["sales_order_number"] for r in actual["sales_orders"]}
    expected = {
        name: [r for r in rows if r["sales_order_number"] in loaded]
        for name, rows in h.sim.truth().items()
    }
    problems = diff(expected, actual)
    summary.add("rows_compared", sum(len(v) for v in expected.values()))
    summary.add("mismatches", len(problems))
    assert not problems, problems
    return len(loaded)


async def terminate_syncer_backends(admin_url: str, database: str) -> int:
    con = await asyncpg.connect(
        make_url(admin_url).set(drivername="postgresql").render_as_string(False)
    )
    try:
        return int(await con.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 "
            "AND application_name = 'scansource-syncer' AND pid <> pg_backend_pid()",
            database,
        ))  # fmt: skip
    finally:
        await con.close()


async def test_connections_terminated_mid_run_fail_cleanly_or_recover_and_the_next_run_completes(
    harness_factory: Any, admin_url: str, database_url: str
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=300, latency_ms=2)
    customer = h.customers[0]
    database = make_url(database_url).database or ""
    sync = h.account_sync(customer, batch_size=20, concurrency=4)
    started = asyncio.Event()
    sync.progress = lambda r: started.set() if r.counts.loaded >= 40 else None
    run = asyncio.create_task(sync.run())
    await started.wait()

    killed = await terminate_syncer_backends(admin_url, database)

    assert killed >= 1
    try:
        result = await run
        outcome = result.outcome  # recovered: later batches got fresh connections
    except DatabaseError as exc:
        outcome = "failed"
        assert "\n" not in str(exc) and "database error" in str(exc)  # one readable line
    summary.add("outages")
    assert outcome in ("succeeded", "failed")
    partial = await loaded_orders_are_whole(h)
    assert partial >= 40

    again = await h.account_sync(customer).run()

    assert again.outcome == "succeeded"
    await summary.compare(h.engine, h.sim, customer)


@contextlib.contextmanager
def embedded(data_dir: Path) -> Iterator[Any]:
    import pgserver

    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        yield server
    finally:
        stop(data_dir)


def stop(data_dir: Path) -> None:
    """Fast shutdown of the postmaster serving data_dir, however many handles pgserver holds."""
    import signal
    import time

    pid_file = data_dir / "postmaster.pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().split()[0])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
    for _ in range(500):
        if not pid_file.exists():
            return
        time.sleep(0.02)
    raise AssertionError("postgres did not stop")


@pytest.mark.slow
async def test_a_postgres_restart_mid_run_fails_the_run_cleanly_and_the_next_completes(
    harness_factory: Any,
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=200, latency_ms=3)
    with tempfile.TemporaryDirectory(prefix="syncer-restart-") as tmp:
        data = Path(tmp) / "pg"
        data.mkdir()
        with embedded(data) as server:
            url = str(make_url(server.get_uri()))
            engine = db.create_engine(url, pool_size=2)
            await db.upgrade(engine)
            env = {
                **sync_env(h, url),
                "SYNCER_SYNC_BATCH_SIZE": "20",
                "SYNCER_API_CONCURRENCY": "4",
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "syncer", "sync", "--once", env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            await until_some_orders_loaded(engine, 30)
            await engine.dispose()
            restart(server, data)
            out, err = await asyncio.wait_for(proc.communicate(), 120)
            summary.add("outages")
            text = (out + err).decode()
            assert "Traceback" not in text, text[-2000:]
            if proc.returncode != 0:
                assert "database" in text.lower()
            h.engine = engine = db.create_engine(url, pool_size=2)
            partial = await loaded_orders_are_whole(h)
            assert partial >= 30
            code = await (await asyncio.create_subprocess_exec(
                sys.executable, "-m", "syncer", "sync", "--once", env=env,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )).wait()  # fmt: skip
            assert code == 0
            await summary.compare(engine, h.sim)
            await engine.dispose()


async def until_some_orders_loaded(engine: Any, n: int) -> None:
    for _ in range(3000):
        async with engine.connect() as conn:
            count = (await conn.exec_driver_sql(f"SELECT count(*) FROM {S}.sales_orders")).scalar()
        if count >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the sync loaded nothing")


def restart(server: Any, data: Path) -> None:
    """Stop Postgres (open transactions roll back) and start it again on the same data."""
    stop(data)
    server.ensure_postgres_running()
