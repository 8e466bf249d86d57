"""Settings: defaults, environment overrides, secrets from files, one readable line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncer.config import load_settings, mask
from syncer.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SYNCER_"):
            monkeypatch.delenv(name)


def test_defaults_point_at_the_production_api() -> None:
    s = load_settings()
    assert s.api_base_url == "https://api.scansource.com/scsc/salesorder/v1"
    assert s.api_verify_tls is True
    assert s.sync_lookback_days == 1 and s.sync_timezone == "America/New_York"


def test_environment_overrides_and_accounts_as_a_comma_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCER_SYNC_BATCH_SIZE", "250")
    monkeypatch.setenv("SYNCER_ACCOUNTS", "1000012345, 1000023456")
    s = load_settings()
    assert s.sync_batch_size == 250
    assert [a.customer_number for a in s.accounts] == ["1000012345", "1000023456"]


def test_a_config_file_overrides_the_defaults_and_the_environment_overrides_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "prod.toml"
    f.write_text('api_concurrency = 4\nsync_page_size = 500\naccounts = ["1000099999"]\n')
    monkeypatch.setenv("SYNCER_SYNC_PAGE_SIZE", "200")
    s = load_settings(f)
    assert s.api_concurrency == 4
    assert s.sync_page_size == 200
    assert s.accounts[0].customer_number == "1000099999"


def test_secrets_come_from_files_and_are_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-value\n")
    monkeypatch.setenv("SYNCER_API_CLIENT_SECRET_FILE", str(secret))
    monkeypatch.setenv("SYNCER_API_SUBSCRIPTION_KEY", "key-value-123")
    monkeypatch.setenv("SYNCER_DATABASE_URL", "postgresql://u:dbpass@db:5432/w")
    s = load_settings()
    assert s.api_client_secret.get_secret_value() == "s3cr3t-value"
    shown = str(mask(s))
    for secret_text in ("s3cr3t-value", "key-value-123", "dbpass"):
        assert secret_text not in shown
    assert "s3cr3t-value" not in repr(s)


def test_every_problem_is_one_readable_line_without_the_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCER_SYNC_BATCH_SIZE", "lots")
    monkeypatch.setenv("SYNCER_SYNC_TIMEZONE", "Mars/Olympus")
    monkeypatch.setenv("SYNCER_API_CONCURRENCY", "0")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    lines = str(exc.value).splitlines()
    assert lines[0] == "invalid configuration:"
    problems = "\n".join(lines[1:])
    assert "sync_batch_size" in problems and "api_concurrency" in problems
    assert "unknown time zone" in problems
    assert len(lines) == 4


def test_a_missing_config_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_an_unreadable_secret_file_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_API_CLIENT_SECRET_FILE", "/nonexistent/secret")
    with pytest.raises(ConfigError, match="SYNCER_API_CLIENT_SECRET_FILE: cannot read"):
        load_settings()
