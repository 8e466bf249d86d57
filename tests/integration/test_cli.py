"""The `syncer` command as a user runs it: a subprocess, real output, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    return subprocess.run(
        [sys.executable, "-m", "syncer", *args],
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


async def test_demo_loads_the_simulated_orders_into_the_configured_database(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    done = run("demo", "--orders", "40", env={"SYNCER_DATABASE_URL": database_url})

    assert done.returncode == 0, done.stderr
    assert "Synced 120 orders" in done.stdout
    assert "delivery_line_serials" in done.stdout and "Open backorders" in done.stdout
    async with clean_engine.connect() as conn:
        orders = (
            await conn.exec_driver_sql("SELECT count(*) FROM scansource.sales_orders")
        ).scalar()
        runs = (await conn.exec_driver_sql(
            "SELECT count(*) FROM scansource.sync_runs WHERE outcome = 'succeeded'"
        )).scalar()  # fmt: skip
    assert orders == 120 and runs == 3


@pytest.mark.slow
def test_demo_runs_on_an_embedded_postgres_when_no_database_is_configured(tmp_path: Path) -> None:
    done = run("demo", "--orders", "20", "--data-dir", str(tmp_path / "pg"))

    assert done.returncode == 0, done.stderr
    assert "embedded Postgres" in done.stdout
    assert "Synced 60 orders" in done.stdout
    assert (tmp_path / "pg" / "PG_VERSION").exists()


def test_bad_configuration_is_one_readable_line_and_exit_2() -> None:
    done = run("sync", "--once", env={"SYNCER_SYNC_BATCH_SIZE": "many"})

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "sync_batch_size" in done.stderr


def test_missing_credentials_are_one_readable_line() -> None:
    done = run(
        "sync",
        "--once",
        env={
            "SYNCER_ACCOUNTS": "1000012345",
            "SYNCER_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
        },
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "account 1000012345: no client_id, client_secret, subscription_key" in done.stderr


def test_an_unreachable_database_is_one_readable_line() -> None:
    done = run(
        "db", "upgrade", env={"SYNCER_DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/none"}
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "database unreachable" in done.stderr
    assert "pw@" not in done.stderr
