"""Settings in groups, listed in the configuration reference, and turned into the lower layers'
options in one place (syncer.service.options): every setting reaches the objects it governs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from syncer.cli.main import app
from syncer.config.accounts import Account
from syncer.config.load import load_settings
from syncer.config.masking import mask
from syncer.config.reference import by_group, group_of, reference, reference_markdown
from syncer.config.settings import GROUPS, Settings
from syncer.config.sources import DEFAULT_CONFIG, FILE_FIELDS, SECRET_FIELDS
from syncer.service import options

runner = CliRunner()


def test_every_setting_declares_one_of_the_groups_and_the_five_are_there() -> None:
    assert {"api", "sync", "database", "schedule", "health"} <= set(GROUPS)
    groups = {name: group_of(name) for name in Settings.model_fields}
    assert set(groups.values()) == set(GROUPS)  # no group left empty
    for name, group in groups.items():
        # The flat names stay as they were; the prefix says the group where there is one.
        if name.startswith(("api_", "sync_", "schedule_", "health_", "db_", "database_")):
            expected = {"db": "database"}.get(name.split("_")[0], name.split("_")[0])
            assert group == expected, name
    assert groups["accounts"] == "sync" and groups["shutdown_grace_seconds"] == "schedule"


def test_the_reference_lists_every_setting_once_with_its_names_and_default() -> None:
    rows = reference()
    defaults = tomllib.loads(DEFAULT_CONFIG.read_text())
    assert {r.env for r in rows} == {f"SYNCER_{n.upper()}" for n in Settings.model_fields}
    assert len(rows) == len(Settings.model_fields)
    assert [GROUPS.index(r.group) for r in rows] == sorted(GROUPS.index(r.group) for r in rows)
    for r in rows:
        name = r.env.removeprefix("SYNCER_").lower()
        assert r.group == group_of(name)
        assert r.description and "\n" not in r.description, name
        if name in SECRET_FIELDS:
            assert r.toml_key is None and r.default == '""'
            continue
        assert r.toml_key == name
        # The model's default is the one config/default.toml ships, in TOML's own spelling.
        assert tomllib.loads(f"v = {r.default}")["v"] == defaults[name], name


def test_the_reference_as_markdown_has_a_table_per_group_and_a_row_per_setting() -> None:
    text = reference_markdown()
    lines = text.splitlines()
    headings = [line for line in lines if line.startswith("## ")]
    assert len(headings) == len(GROUPS)
    for r in reference():
        (row,) = [line for line in lines if line.startswith(f"| `{r.env}`")]
        assert f"| `{r.default}` |" in row and row.endswith(" |")
        assert row.count(" | ") == 3  # four cells: no description breaks the table
        if r.toml_key:
            assert f"| `{r.toml_key}` |" in row
        if r.env.removeprefix("SYNCER_").lower() in FILE_FIELDS:
            assert f"`{r.env}_FILE`" in row


def test_config_reference_prints_the_markdown_and_reads_no_configuration() -> None:
    done = runner.invoke(app, ["config", "reference"], env={"SYNCER_SYNC_BATCH_SIZE": "many"})
    assert done.exit_code == 0, done.output
    assert done.output == reference_markdown()


def test_config_show_grouped_splits_the_effective_settings_by_group() -> None:
    env = {"SYNCER_API_CLIENT_SECRET": "s3cret-xyz", "SYNCER_SYNC_WRITERS": "3"}
    flat = runner.invoke(app, ["config", "show"], env=env)
    grouped = runner.invoke(app, ["config", "show", "--grouped"], env=env)
    assert flat.exit_code == grouped.exit_code == 0, grouped.output
    shown = json.loads(grouped.output)
    assert list(shown) == list(GROUPS)
    assert shown["sync"]["sync_writers"] == 3
    assert shown["api"]["api_client_secret"] == "**********"
    assert "s3cret-xyz" not in grouped.output
    merged = {k: v for group in shown.values() for k, v in group.items()}
    assert merged == json.loads(flat.output)
    assert by_group(mask(load_settings()))["health"]["health_port"] == 8000


# -- the options objects ---------------------------------------------------------------------

# A valid value other than the default, where one cannot be derived from the type.
OTHER: dict[str, Any] = {
    "api_base_url": "http://127.0.0.1:1/v1",
    "api_token_url": "http://127.0.0.1:1/token",
    "api_scope": "other-scope",
    "sync_timezone": "Europe/Paris",
    "schedule_timezone": "Europe/Paris",
    "schedule_cron": "*/5 * * * *",
    "health_host": "0.0.0.0",
    "sync_page_size": 500,  # the default is the maximum
    "api_rate_decrease": 0.25,
    "health_stale_after_runs": 1.5,
    "accounts": [Account(customer_number="1"), Account(customer_number="2")],
}
# Settings that are no lower layer's option: where the database and the credentials are, and
# how the process logs. Everything else must reach an options object.
NOT_OPTIONS = {
    "database_url",
    "embedded_db_dir",
    "api_client_id",
    "api_client_secret",
    "api_subscription_key",
    "log_level",
    "log_format",
}


def other_value(name: str, default: Any) -> Any:
    if name in OTHER:
        return OTHER[name]
    if isinstance(default, bool):
        return not default
    if isinstance(default, int):
        return default + 1
    if isinstance(default, float):
        return default / 2
    if isinstance(default, SecretStr):
        return SecretStr("other")
    return "other"


def every_option(settings: Settings) -> dict[str, Any]:
    return {
        "limits": options.limits(settings),
        "client": options.client_options(settings),
        "session": options.session_options(settings, keys=2),
        "sync": options.sync_options(settings),
        "schedule": options.schedule_options(settings),
        "health": options.health_options(settings),
        "engine": options.engine_options(settings),
    }


@pytest.mark.parametrize(
    "name", [n for n in Settings.model_fields if n not in NOT_OPTIONS], ids=str
)
def test_every_setting_reaches_an_options_object(name: str) -> None:
    base = Settings()
    changed = Settings(**{name: other_value(name, getattr(base, name))})
    assert getattr(changed, name) != getattr(base, name)
    before, after = every_option(base), every_option(changed)
    assert before != after, f"{name} changes no options object"


def test_the_options_carry_the_values_they_were_built_from(tmp_path: Path) -> None:
    s = Settings(
        api_max_response_bytes=100_000,
        api_call_deadline_seconds=45.0,
        api_max_pages=7,
        api_token_refreshes_per_call=2,
        api_token_refreshes_per_run=9,
        api_retry_after_max_seconds=3.0,
        sync_writers=4,
        db_pool_size=2,
        accounts=[Account(customer_number="1")],
        schedule_interval_seconds=600,
        schedule_jitter_seconds=10,
        health_stale_after_runs=2.0,
    )
    client = options.client_options(s)
    assert (client.max_response_bytes, client.call_deadline_seconds, client.max_pages) == (
        100_000,
        45.0,
        7,
    )
    assert (client.token_refreshes_per_call, client.token_refreshes_per_run) == (2, 9)
    assert options.limits(s).max_retry_after == 3.0
    assert options.sync_options(s).writers == 4
    # One account of 4 writers holds up to 7 connections, and the readiness check one more.
    assert options.engine_options(s) == options.EngineOptions(pool_size=2, max_overflow=6)
    assert options.health_options(s).stale_after.total_seconds() == 1200
    assert options.schedule_options(s).describe() == "every 600 s, jitter up to 10 s"


def test_only_the_options_module_reads_the_settings_it_turns_into_options() -> None:
    """A command that read an api_* setting itself is how `syncer api` came to ignore the
    newer ones: outside syncer.service.options no module reads such a setting."""
    import ast

    import syncer

    governed = set(Settings.model_fields) - NOT_OPTIONS - {"accounts"}
    root = Path(syncer.__file__).parent
    allowed = {root / "config" / "settings.py", root / "service" / "options.py"}
    readers = []
    for path in sorted(root.rglob("*.py")):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in governed:
                readers.append(f"{path.relative_to(root)}:{node.lineno} {node.attr}")
    assert not readers
