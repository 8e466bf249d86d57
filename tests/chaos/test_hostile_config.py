"""Hostile configuration and credentials: each gives one readable line and a non-zero exit,
and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from syncer.warehouse import schema
from tests.integration.cli_support import syncer
from tests.integration.conftest import SimHarness
from tests.integration.test_crash import sync_env

S = schema.SCHEMA


async def written(h: SimHarness) -> int:
    async with h.engine.connect() as conn:
        total = 0
        for table in ("sales_orders", "sync_runs", "sync_state", "sync_failures"):
            total += (await conn.exec_driver_sql(f"SELECT count(*) FROM {S}.{table}")).scalar() or 0
        return total


CASES: list[tuple[str, dict[str, str | None], int, str]] = [
    ("no accounts", {"SYNCER_ACCOUNTS": ""}, 2, "no accounts configured"),
    ("an invalid setting", {"SYNCER_SYNC_PAGE_SIZE": "5000"}, 2, "sync_page_size"),
    ("an unknown setting", {"SYNCER_SYNC_PAGE_SIZ": None, "SYNCER_CONFIG_FILE": "@bad.toml"}, 2,
     "sync_page_siz"),
    ("a missing secret", {"SYNCER_API_CLIENT_SECRET": ""}, 2, "no client_secret"),
    ("a misspelt variable", {"SYNCER_API_CLIENT_SECRT": "x"}, 2,
     "unknown setting SYNCER_API_CLIENT_SECRT (did you mean SYNCER_API_CLIENT_SECRET?)"),
    ("a wrong secret", {"SYNCER_API_CLIENT_SECRET": "not-the-secret"}, 1,
     "token endpoint refused the client credentials"),
    ("a wrong subscription key", {"SYNCER_API_SUBSCRIPTION_KEY": "nope"}, 1,
     "invalid subscription key"),
    ("a customer number not ours", {"SYNCER_ACCOUNTS": "1000099999"}, 1, "403"),
    ("an unreachable API", {"SYNCER_API_BASE_URL": "http://127.0.0.1:9/x",
                            "SYNCER_API_TOKEN_URL": "http://127.0.0.1:9/t"}, 1,
     "token endpoint unreachable"),
    ("an unreachable database", {"SYNCER_DATABASE_URL": "postgresql://u:pw@127.0.0.1:9/x"}, 1,
     "database unreachable"),
    ("a database URL that is not one", {"SYNCER_DATABASE_URL": "mysql://u@h/x"}, 2,
     "must be a PostgreSQL URL"),
]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("case", "change", "code", "message"), CASES, ids=[c[0] for c in CASES])
async def test_hostile_settings_give_one_readable_line_a_nonzero_exit_and_write_nothing(
    harness: SimHarness, database_url: str, tmp_path: Any,
    case: str, change: dict[str, str | None], code: int, message: str,
) -> None:  # fmt: skip
    env = sync_env(harness, database_url)
    for key, value in change.items():
        if value is not None and value.startswith("@"):
            bad = tmp_path / value[1:]
            bad.write_text("sync_page_siz = 10\n")
            value = str(bad)
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["SYNCER_API_CONCURRENCY"] = "2"

    returncode, out, err = await syncer(env, "sync", "--once")

    assert returncode == code, (case, out, err)
    problem_lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err + out
    assert any(message in line for line in problem_lines), (case, err)
    assert len([line for line in problem_lines if line.startswith("error")]) >= 1
    for secret in ("demo-secret", "demo-subscription-key", "pw@"):
        assert secret not in err + out, case
    assert await written(harness) == 0, case  # nothing at all in the database
