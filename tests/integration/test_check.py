"""`syncer check` against the simulator over real HTTP and a real Postgres: every check, each
failure it is there to catch, and its exit codes."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest_asyncio
from sqlalchemy.engine import make_url

from syncer.sim import FaultConfig
from syncer.warehouse import database as db
from tests.integration.cli_support import syncer
from tests.integration.conftest import SimHarness
from tests.integration.test_crash import sync_env

NOT_OURS = "1000099999"
OK_ACCOUNT = ["config", "token", "list", "rate limit"]


async def check(env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    code, out, err = await syncer(env, "check", "--json")
    assert out.count("\n") == 1, out  # one JSON object, on one line
    return code, json.loads(out), err


def results(report: dict[str, Any]) -> dict[tuple[str | None, str], tuple[str, str]]:
    return {(c["account"], c["check"]): (c["result"], c["detail"]) for c in report["checks"]}


def account_results(report: dict[str, Any], account: str) -> list[str]:
    return [c["result"] for c in report["checks"] if c["account"] == account]


async def test_every_check_passes_and_nothing_is_written(
    harness: SimHarness, database_url: str
) -> None:
    env = sync_env(harness, database_url)

    code, report, err = await check(env)

    assert code == 0, err
    assert report["ok"] is True and report["exit_code"] == 0
    assert [(c["account"], c["check"]) for c in report["checks"]] == [
        (None, "config"), (None, "database"),
        *((n, name) for n in harness.customers for name in OK_ACCOUNT),
    ]  # fmt: skip
    assert {c["result"] for c in report["checks"]} == {"ok"}
    checks = results(report)
    assert checks[(None, "database")][1] == (
        f"reachable, at the migrations' head ({db.head_revision()})"
    )
    assert checks[(harness.customers[0], "list")][1] == "answered (page size 1): an order"
    assert not harness.sim.detail_hits  # a list call each, no detail
    async with harness.engine.connect() as conn:
        runs = (await conn.exec_driver_sql("SELECT count(*) FROM scansource.sync_runs")).scalar()
    assert runs == 0
    code, table, _ = await syncer(env, "check")  # the table, for a terminal
    assert code == 0 and "every check passed" in table and "rate limit" in table


async def test_a_wrong_secret_fails_the_token_check_of_every_account(
    harness: SimHarness, database_url: str
) -> None:
    env = {**sync_env(harness, database_url), "SYNCER_API_CLIENT_SECRET": "not-the-secret"}

    code, report, err = await check(env)

    assert code == 1
    checks = results(report)
    for n in harness.customers:
        assert account_results(report, n) == ["ok", "failed", "not run", "not run"]
        assert checks[(n, "token")][1].startswith(
            "token endpoint refused the client credentials (401"
        )
    assert "not-the-secret" not in json.dumps(report) + err


async def test_a_customer_number_not_ours_fails_its_list_check_only(
    harness: SimHarness, database_url: str
) -> None:
    ours = harness.customers[0]
    env = {**sync_env(harness, database_url), "SYNCER_ACCOUNTS": f"{ours},{NOT_OURS}"}

    code, report, _ = await check(env)

    assert code == 1
    assert account_results(report, ours) == ["ok", "ok", "ok", "ok"]
    assert account_results(report, NOT_OURS) == ["ok", "ok", "failed", "ok"]
    assert results(report)[(NOT_OURS, "list")][1].startswith("list: HTTP 403 ")


@pytest_asyncio.fixture(loop_scope="session")
async def empty_database(admin_url: str) -> AsyncIterator[str]:
    """A database no migration has touched."""
    name = f"syncer_check_{uuid.uuid4().hex[:8]}"
    admin = make_url(admin_url).set(drivername="postgresql")
    con = await asyncpg.connect(admin.render_as_string(hide_password=False))
    await con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await con.close()


async def test_a_database_not_migrated_fails_the_database_check(
    harness: SimHarness, empty_database: str
) -> None:
    code, report, _ = await check(sync_env(harness, empty_database))

    assert code == 1
    assert results(report)[(None, "database")] == (
        "failed",
        f"database schema is at revision none, this version needs {db.head_revision()}: "
        "run `syncer db upgrade`",
    )
    assert all(account_results(report, n) == ["ok"] * 4 for n in harness.customers)


async def test_an_unreachable_database_fails_the_database_check(harness: SimHarness) -> None:
    env = sync_env(harness, "postgresql://syncer:pw@127.0.0.1:9/warehouse")

    code, report, err = await check(env)

    assert code == 1
    result, detail = results(report)[(None, "database")]
    assert result == "failed" and detail.startswith("database unreachable: ")
    assert "pw@" not in json.dumps(report) + err


async def test_a_429_fails_the_rate_limit_check_without_waiting_it_out(
    harness_factory: Any, database_url: str
) -> None:
    # One list call a hundred seconds per key: the first account's takes it.
    h = await harness_factory(
        orders_per_account=5, faults=FaultConfig(rate_limit=0.01, rate_limit_burst=1)
    )
    first, second, third = h.customers

    code, report, _ = await check(sync_env(h, database_url))

    assert code == 1
    checks = results(report)
    assert account_results(report, first) == ["ok", "ok", "ok", "ok"]
    assert account_results(report, second) == ["ok", "ok", "failed", "failed"]
    assert checks[(second, "list")][1].startswith("list: HTTP 429 ")
    assert checks[(second, "rate limit")][1] == "exhausted: answered 429, retry after 100 s"
    # The key is paused now: the third account reads the pause rather than waiting for it.
    assert account_results(report, third) == ["ok", "not run", "not run", "failed"]
    assert checks[(third, "rate limit")][1].startswith("exhausted: its key is paused for ")
    assert h.sim.faults.injected["rate_limit"] == 1


async def test_missing_settings_fail_the_config_checks_and_exit_2(harness: SimHarness) -> None:
    env = sync_env(harness, "")
    del env["SYNCER_DATABASE_URL"]
    env["SYNCER_API_CLIENT_SECRET"] = ""

    code, report, _ = await check(env)

    assert code == 2 and report["exit_code"] == 2
    checks = results(report)
    assert checks[(None, "config")] == (
        "failed",
        "no database configured (set SYNCER_DATABASE_URL)",
    )
    assert checks[(None, "database")] == ("not run", "no database configured")
    for n in harness.customers:
        assert account_results(report, n) == ["failed", "not run", "not run", "not run"]
        assert checks[(n, "config")][1].startswith("no client_secret (set ")
