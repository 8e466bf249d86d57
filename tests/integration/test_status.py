"""`syncer status` as a user runs it, against a warehouse synced from the simulator."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr

from syncer.api.auth import Credentials
from syncer.cli.status import COUNTED, duration
from syncer.redact import Redactor
from syncer.sync.account import AccountSync
from syncer.sync.result import SyncOptions
from syncer.warehouse import ledger, loader
from syncer.warehouse.ledger import Failure
from tests.integration.conftest import START, SimHarness
from tests.integration.test_cli import run
from tests.integration.views import sync_all

NEVER_RUN = "1000099999"


async def prepare(h: SimHarness) -> tuple[str, str, str]:
    """Every account synced at START; then a refused run for the second, and two failed orders
    recorded for the first. Returns the three customer numbers."""
    a, b, c = h.customers
    await sync_all(h)
    h.clock.advance(timedelta(hours=1))
    await refused_run(h, b)
    async with loader.connection(h.engine) as con:
        await ledger.record_failures(
            con,
            a,
            [Failure("7000009991", "parse", "bad JSON"), Failure("7000009992", "fetch", "503")],
            Redactor(),
        )
    return a, b, c


async def refused_run(h: SimHarness, account: str) -> None:
    """A run of `account` whose secret the token endpoint refuses: recorded as failed."""
    refused = h.make_client(credentials=Credentials(h.credentials.client_id, SecretStr("wrong"),
                                                    h.credentials.subscription_key))  # fmt: skip
    result = await AccountSync(h.engine, refused, account, SyncOptions(), clock=h.clock.now).run()
    assert result.outcome == "failed"


def status(
    database_url: str, *args: str, accounts: str, code: int = 1, **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {"SYNCER_DATABASE_URL": database_url, "SYNCER_ACCOUNTS": accounts}
    env |= {f"SYNCER_{name.upper()}": value for name, value in settings.items()}
    done = run("status", *args, env=env)
    assert done.returncode == code, done.stderr
    return done


async def test_status_json_gives_each_accounts_last_run_lag_rows_and_open_failures(
    harness: SimHarness, database_url: str
) -> None:
    a, b, c = await prepare(harness)

    out = status(database_url, "--json", accounts=f"{a},{b},{c},{NEVER_RUN}").stdout

    assert out.count("\n") == 1  # one JSON object, on one line
    report = json.loads(out)
    as_of = datetime.fromisoformat(report["as_of"])
    accounts = {x["account"]: x for x in report["accounts"]}
    assert [x["account"] for x in report["accounts"]] == [a, b, c, NEVER_RUN]
    truth = harness.sim.truth()
    for number in (a, b, c):
        x = accounts[number]
        assert x["configured"]
        assert datetime.fromisoformat(x["last_success_at"]) == START
        assert abs(x["lag_seconds"] - (as_of - START).total_seconds()) < 1e-3
        assert x["watermarks"] == {"sales_orders": START.isoformat()}
        assert set(x["rows"]) == set(COUNTED)
        for table, rows in truth.items():
            assert x["rows"][table] == sum(1 for r in rows if r["customer_number"] == number)
    assert accounts[a]["last_run"]["outcome"] == "succeeded"
    assert accounts[a]["last_run"]["loaded"] == 120
    assert accounts[a]["open_failures"] == 2
    refused = accounts[b]["last_run"]
    assert refused["outcome"] == "failed" and "listing failed" in refused["error"]
    assert datetime.fromisoformat(refused["started_at"]) == START + timedelta(hours=1)
    assert accounts[b]["open_failures"] == accounts[c]["open_failures"] == 0
    never = accounts[NEVER_RUN]
    assert never["last_run"] is None and never["lag_seconds"] is None
    assert set(never["rows"].values()) == {0}


async def test_status_table_shows_outcomes_errors_and_unconfigured_accounts(
    harness: SimHarness, database_url: str
) -> None:
    a, b, c = await prepare(harness)

    out = status(database_url, accounts=f"{a},{b},{NEVER_RUN}").stdout

    lines = out.splitlines()
    row = {n: next(line for line in lines if line.startswith(f"│ {n}")) for n in (a, b, NEVER_RUN)}
    assert "succeeded" in row[a] and row[a].rstrip("│ ").endswith("2")  # two open failures
    assert "failed" in row[b]
    assert "never run" in row[NEVER_RUN]
    assert any(line.startswith(f"│ {c}*") for line in lines)  # in the warehouse, not configured
    assert f"{c}*: in the warehouse but not configured" in out
    assert f"{b}: listing failed" in out
    assert "Rows per table" in out and "delivery_line_serials" in out


async def test_status_exits_0_when_every_configured_account_last_run_succeeded_recently(
    harness_factory: Any, database_url: str
) -> None:
    h = await harness_factory(start=datetime.now(UTC), orders_per_account=10)
    await sync_all(h)

    done = status(database_url, "--json", accounts=",".join(h.customers), code=0)

    report = json.loads(done.stdout)
    assert report["failing"] == report["stale"] == []
    assert done.stderr == ""


async def test_status_exits_4_when_a_last_run_succeeded_longer_ago_than_readyz_allows(
    harness_factory: Any, database_url: str
) -> None:
    h = await harness_factory(start=datetime.now(UTC) - timedelta(hours=2), orders_per_account=10)
    await sync_all(h)
    accounts = ",".join(h.customers)

    # Every 15 minutes, stale after 3 periods: 45 minutes.
    done = status(database_url, "--json", accounts=accounts, code=4)

    report = json.loads(done.stdout)
    assert report["failing"] == []
    assert [p.split(":")[0] for p in report["stale"]] == [f"account {n}" for n in h.customers]
    assert all("(allowed 2700 s)" in p for p in report["stale"])
    assert done.stderr.splitlines() == [f"warning: {p}" for p in report["stale"]]
    # The same rule as /readyz, with the same settings: an hourly schedule allows 3 hours.
    status(database_url, accounts=accounts, code=0, schedule_interval_seconds="3600")


async def test_status_exits_1_when_a_last_run_failed_or_none_finished_even_if_others_are_stale(
    harness_factory: Any, database_url: str
) -> None:
    h = await harness_factory(start=datetime.now(UTC) - timedelta(hours=2), orders_per_account=10)
    a, b, c = h.customers
    await sync_all(h)  # two hours ago: stale
    await refused_run(h, b)

    done = status(database_url, "--json", accounts=f"{a},{b},{c},{NEVER_RUN}", code=1)

    report = json.loads(done.stdout)
    assert [p.split(":")[0] for p in report["failing"]] == [f"account {b}", f"account {NEVER_RUN}"]
    assert report["failing"][0].startswith(f"account {b}: last run failed: ")
    assert report["failing"][1] == f"account {NEVER_RUN}: no run has finished yet"
    assert [p.split(":")[0] for p in report["stale"]] == [f"account {a}", f"account {c}"]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {p}" for p in report["failing"]]


def test_status_of_an_unreachable_database_is_one_line() -> None:
    done = run("status", env={"SYNCER_DATABASE_URL": "postgresql://nobody:pw@127.0.0.1:1/none"})

    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "database unreachable" in done.stderr


def test_durations_read_at_a_glance() -> None:
    assert [duration(s) for s in (None, 0, 45, 65, 3600 * 3 + 240, 86_400 * 2 + 3 * 3600)] == [
        "-", "0s", "45s", "1m 5s", "3h 4m", "2d 3h",
    ]  # fmt: skip
