"""`syncer sync --once` and `syncer backfill` as scripts use them: one JSON object per line on
stdout, and an exit code that tells success, a failed run and a skipped account apart."""

from __future__ import annotations

import json
from typing import Any

from syncer.warehouse import loader
from syncer.warehouse.locks import lock_key
from tests.integration.cli_support import syncer
from tests.integration.conftest import SimHarness
from tests.integration.test_crash import sync_env

NOT_OURS = "1000099999"  # a customer number the simulator's credentials may not read
# These tests are about the output and the exit codes, not the rate limiter: at the default 20
# calls a second, a run of the harness's 360 orders takes about 20 s.
UNLIMITED = {"SYNCER_API_RATE_LIMIT_PER_SECOND": "10000", "SYNCER_API_RATE_BURST": "100"}


def cli_env(h: SimHarness, database_url: str) -> dict[str, str]:
    return {**sync_env(h, database_url), **UNLIMITED}


def runs(stdout: str) -> dict[str, dict[str, Any]]:
    """Every stdout line is one JSON object (NDJSON): the runs by account."""
    parsed = [json.loads(line) for line in stdout.splitlines()]
    assert parsed and all(isinstance(r, dict) for r in parsed), stdout
    return {r["account"]: r for r in parsed}


async def test_sync_once_prints_a_json_line_per_account_and_exits_0(
    harness: SimHarness, database_url: str
) -> None:
    code, out, err = await syncer(cli_env(harness, database_url), "sync", "--once")

    assert code == 0, err
    by_account = runs(out)
    assert list(by_account) == list(harness.customers)
    assert {r["outcome"] for r in by_account.values()} == {"succeeded"}
    assert [r["loaded"] for r in by_account.values()] == [120, 120, 120]


async def test_backfill_prints_a_json_line_per_account_and_exits_0(
    harness: SimHarness, database_url: str
) -> None:
    env = cli_env(harness, database_url)
    code, out, err = await syncer(env, "backfill", "--from", "2026-01-01", "--to", "2026-12-31")

    assert code == 0, err
    by_account = runs(out)
    assert list(by_account) == list(harness.customers)
    assert {(r["kind"], r["outcome"]) for r in by_account.values()} == {("backfill", "succeeded")}


async def test_a_failed_run_exits_1_and_the_others_still_print_their_line(
    harness: SimHarness, database_url: str
) -> None:
    env = cli_env(harness, database_url)
    env["SYNCER_ACCOUNTS"] = f"{harness.customers[0]},{NOT_OURS}"

    code, out, err = await syncer(env, "sync", "--once")

    assert code == 1
    by_account = runs(out)
    assert by_account[harness.customers[0]]["outcome"] == "succeeded"
    assert by_account[NOT_OURS]["outcome"] == "failed"
    assert f"error: account {NOT_OURS}: list: HTTP 403 Customer number" in err.splitlines()[-1]


async def test_an_account_held_by_another_instance_exits_3_unless_a_run_also_failed(
    harness: SimHarness, database_url: str
) -> None:
    held, free = harness.customers[:2]
    env = cli_env(harness, database_url)
    env["SYNCER_ACCOUNTS"] = f"{held},{free}"
    async with loader.connection(harness.engine) as other_instance:
        await other_instance.execute("SELECT pg_advisory_lock($1)", lock_key(held))
        skipped = await syncer(env, "sync", "--once")
        env["SYNCER_ACCOUNTS"] += f",{NOT_OURS}"
        skipped_and_failed = await syncer(
            env, "backfill", "--from", "2026-01-01", "--to", "2026-01-31"
        )
        await other_instance.execute("SELECT pg_advisory_unlock($1)", lock_key(held))

    code, out, err = skipped
    assert code == 3, err
    assert {a: r["outcome"] for a, r in runs(out).items()} == {held: "skipped", free: "succeeded"}
    assert f"warning: account {held}: skipped, another instance is syncing it" in err
    code, out, err = skipped_and_failed
    assert code == 1, err  # a failure outweighs a skip
    outcomes = {a: r["outcome"] for a, r in runs(out).items()}
    assert outcomes == {held: "skipped", free: "succeeded", NOT_OURS: "failed"}
