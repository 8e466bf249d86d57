"""The `syncer` command as a user runs it: a subprocess, real output, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import orjson
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
        "error: invalid configuration: accounts.1.customer_number: '1000O23456' is not a "
        "ScanSource customer number (1 to 10 digits, nothing else)",
    ]
    assert twice.stderr.splitlines() == [
        "error: invalid configuration: accounts: listed more than once: 1000012345"
    ]


def test_missing_credentials_are_one_readable_line() -> None:
    done = run(
        "sync",
        "--once",
        env={
            "SYNCER_ACCOUNTS": "1000012345",
            "SYNCER_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
        },
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "account 1000012345: no client_id, client_secret, subscription_key" in done.stderr


EVERY_COMMAND_READING_SETTINGS = [
    ("sync", "--once"), ("backfill", "--from", "2026-01-01", "--to", "2026-01-02"), ("status",),
    ("run",), ("health",), ("db", "current"), ("db", "upgrade"), ("db", "grant-readonly", "bi"),
    ("config", "show"), ("api", "list"), ("demo", "--orders", "1"), ("check",),
]  # fmt: skip


@pytest.mark.parametrize("command", EVERY_COMMAND_READING_SETTINGS, ids=" ".join)
def test_an_unknown_syncer_variable_stops_every_command_with_exit_2(
    command: tuple[str, ...],
) -> None:
    done = run(*command, env={"SYNCER_ACOUNTS": "1000012345"})

    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        "error: invalid configuration: unknown setting SYNCER_ACOUNTS "
        "(did you mean SYNCER_ACCOUNTS?)\n"
    )


@pytest.mark.parametrize(
    "command", [("status",), ("db", "current"), ("sync", "--once")], ids=" ".join
)
def test_a_command_with_no_database_configured_says_so_and_creates_none(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    env = {
        "SYNCER_ACCOUNTS": "1000012345", "SYNCER_API_CLIENT_ID": "id",
        "SYNCER_API_CLIENT_SECRET": "secret", "SYNCER_API_SUBSCRIPTION_KEY": "key",
        "SYNCER_EMBEDDED_DB_DIR": str(tmp_path / "pg"),
    }  # fmt: skip
    done = run(*command, env=env)

    assert done.returncode == 2
    assert done.stderr == "error: no database configured (set SYNCER_DATABASE_URL)\n"
    assert not (tmp_path / "pg").exists()


def test_an_account_not_configured_is_a_usage_error() -> None:
    env = {
        "SYNCER_ACCOUNTS": "1000012345", "SYNCER_API_CLIENT_ID": "id",
        "SYNCER_API_CLIENT_SECRET": "secret", "SYNCER_API_SUBSCRIPTION_KEY": "key",
        "SYNCER_DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
    }  # fmt: skip
    done = run("sync", "--once", "--account", "1000099999", env=env)

    assert done.returncode == 2
    assert done.stderr == "error: not a configured account: 1000099999\n"


def test_a_simulator_on_a_taken_port_is_one_line_and_exit_2() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("sim", "--port", str(port), "--orders", "1")

    assert done.returncode == 2
    assert done.stderr == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


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
    lines = [orjson.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    requests = [e for e in lines if e["event"] == "api request" and e["operation"] == "detail"]
    assert requests and requests[0]["path"].startswith("/detail?customerNumber=")  # DEBUG is on
    # Every line a run logs names its account and run as fields, not inside the message.
    assert all(isinstance(e["run_id"], int) and e["account"] for e in requests)
    for secret in ("demo-secret", "demo-subscription-key", "Bearer ey"):
        assert secret not in done.stderr
