"""The `syncer` command as a user runs it: a subprocess, real output, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
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
@pytest.mark.parametrize("where", ["--data-dir", "SYNCER_EMBEDDED_DB_DIR"])
def test_demo_runs_on_an_embedded_postgres_when_no_database_is_configured(
    tmp_path: Path, where: str
) -> None:
    data = str(tmp_path / "pg")
    if where == "--data-dir":
        done = run("demo", "--orders", "20", "--data-dir", data)
    else:
        done = run("demo", "--orders", "20", env={where: data})

    assert done.returncode == 0, done.stderr
    assert "embedded Postgres" in done.stdout
    assert "Synced 60 orders" in done.stdout
    assert (tmp_path / "pg" / "PG_VERSION").exists()


def test_bad_configuration_is_one_readable_line_and_exit_2() -> None:
    done = run("sync", "--once", env={"SYNCER_SYNC_BATCH_SIZE": "many"})

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "sync_batch_size" in done.stderr


def test_an_account_that_is_not_a_customer_number_or_is_listed_twice_is_exit_2() -> None:
    env = {"SYNCER_DATABASE_URL": "postgresql://x@127.0.0.1:1/x"}
    mistyped = run("sync", "--once", env={**env, "SYNCER_ACCOUNTS": "1000012345,1000O23456"})
    twice = run("sync", "--once", env={**env, "SYNCER_ACCOUNTS": "1000012345,1000012345"})

    assert (mistyped.returncode, twice.returncode) == (2, 2)
    assert mistyped.stderr.splitlines() == [
        "error: invalid configuration:",
        "  accounts.1.customer_number: '1000O23456' is not a ScanSource customer number (1 to "
        "10 digits, nothing else)",
    ]
    assert twice.stderr.splitlines()[1:] == ["  accounts: listed more than once: 1000012345"]


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


def test_a_bad_fault_spec_for_the_simulator_is_one_readable_line_and_exit_2() -> None:
    done = run("sim", "--fault", "error_rate=2")

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "error_rate must be between 0 and 1" in done.stderr


def test_the_standalone_simulator_injects_the_faults_given_on_its_command_line() -> None:
    import socket
    import urllib.error
    import urllib.parse
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "sim", "--port", str(port), "--orders", "3",
         "--fault", "rate_limit=0.01,rate_limit_burst=1", "--fault", "retry_after=seconds"],
        env=base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        for _ in range(20):  # credentials, URLs, then the faults: the server is ready
            line = proc.stdout.readline()
            if line.startswith("faults:") or not line:
                break
        assert line.startswith("faults: FaultConfig(rate_limit=0.01,"), line
        root = f"http://127.0.0.1:{port}"
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "client_id": "demo-client",
            "client_secret": "demo-secret",
            "scope": "https://scansourceb2c.onmicrosoft.com/a2eccdbd-b208-4e77-a82f-dddd1814309a/.default",
        }).encode()  # fmt: skip
        for _ in range(100):  # the banner comes before the port is bound: wait for it
            try:
                with urllib.request.urlopen(f"{root}/t/oauth2/v2.0/token", form, timeout=10) as r:
                    token = json.loads(r.read())["access_token"]
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        request = urllib.request.Request(
            f"{root}/scsc/salesorder/v1/list?customerNumber=1000012345",
            headers={"Ocp-Apim-Subscription-Key": "demo-subscription-key",
                     "Authorization": f"Bearer {token}"},
        )  # fmt: skip
        with urllib.request.urlopen(request, timeout=10) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 429
        assert refused.value.headers["Retry-After"] == "100"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_verbose_cli_logs_requests_but_never_the_credentials(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    done = run("-v", "demo", "--orders", "5", env={"SYNCER_DATABASE_URL": database_url})

    assert done.returncode == 0, done.stderr
    assert "detail GET /detail?customerNumber=" in done.stderr  # DEBUG request logs are on
    for secret in ("demo-secret", "demo-subscription-key", "Bearer ey"):
        assert secret not in done.stderr
