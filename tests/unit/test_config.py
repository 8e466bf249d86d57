"""Settings: defaults, environment overrides, secrets from files, one readable line per problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from syncer.config.load import load_settings
from syncer.config.masking import mask, secret_values
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


def test_the_database_url_comes_from_a_file_which_wins_over_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url_file = tmp_path / "database_url"
    url_file.write_text("postgresql://wh:file-pass-4471@db:5432/warehouse\n")
    monkeypatch.setenv("SYNCER_DATABASE_URL", "postgresql://wh:env-pass@other:5432/x")
    monkeypatch.setenv("SYNCER_DATABASE_URL_FILE", str(url_file))
    s = load_settings()
    assert s.database_url == "postgresql://wh:file-pass-4471@db:5432/warehouse"
    assert mask(s)["database_url"] == "postgresql://wh:***@db:5432/warehouse"
    assert "file-pass-4471" in secret_values(s)  # redacted from the logs


def test_an_unreadable_database_url_file_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_DATABASE_URL_FILE", "/nonexistent/database_url")
    with pytest.raises(ConfigError, match="SYNCER_DATABASE_URL_FILE: cannot read") as exc:
        load_settings()
    assert len(str(exc.value).splitlines()) == 1


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


def test_the_service_settings_have_safe_defaults() -> None:
    s = load_settings()
    assert s.schedule_interval_seconds == 900 and s.schedule_cron == ""
    assert 0 < s.schedule_jitter_seconds < s.schedule_interval_seconds
    assert s.health_host == "127.0.0.1" and s.health_port == 8000
    assert s.shutdown_grace_seconds == 30.0 and s.health_stale_after_runs == 3.0
    assert s.log_level == "INFO" and s.log_format == "auto"


def test_default_toml_documents_every_setting_and_holds_no_secret() -> None:
    import tomllib

    from syncer.config.settings import Settings
    from syncer.config.sources import DEFAULT_CONFIG, SECRET_FIELDS

    text = DEFAULT_CONFIG.read_text()
    keys = set(tomllib.loads(text))
    assert keys == set(Settings.model_fields) - set(SECRET_FIELDS)
    lines = text.splitlines()
    for key in keys:
        at = next(i for i, line in enumerate(lines) if line.startswith(f"{key} ="))
        assert lines[at - 1].startswith("#") or lines[at - 1].startswith(
            tuple(f"{k} =" for k in keys)
        ), f"{key} has no comment above it"
    for secret in SECRET_FIELDS:
        assert f"SYNCER_{secret.upper()}_FILE" in text  # where secrets go instead


def test_a_malformed_toml_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    f = tmp_path / "broken.toml"
    f.write_text("api_concurrency = 4\nsync_page_size = = 5\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(f)
    message = str(exc.value)
    assert len(message.splitlines()) == 1
    assert str(f) in message and "not valid TOML" in message and "line 2" in message


def test_a_config_file_named_in_the_environment_must_exist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCER_CONFIG_FILE", str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match="SYNCER_CONFIG_FILE: config file not found"):
        load_settings()


def test_an_unknown_key_in_a_config_file_is_named_with_the_closest_setting(
    tmp_path: Path,
) -> None:
    f = tmp_path / "typo.toml"
    f.write_text("schedule_intervall_seconds = 60\nwhatever = 1\n")
    with pytest.raises(ConfigError) as exc:
        load_settings(f)
    assert str(exc.value).splitlines()[1:] == [
        "  schedule_intervall_seconds: unknown setting (did you mean schedule_interval_seconds?)",
        "  whatever: unknown setting",
    ]


def test_an_unknown_syncer_variable_is_an_error_naming_the_closest_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SYNCER_ACOUNTS", "1000012345")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value) == (
        "invalid configuration: unknown setting SYNCER_ACOUNTS (did you mean SYNCER_ACCOUNTS?)"
    )


def test_every_unknown_variable_is_a_line_of_its_own_whatever_its_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The environment is read case-insensitively: syncer_databse_url is a typo too.
    monkeypatch.setenv("syncer_databse_url", "postgresql://x@h/db")
    monkeypatch.setenv("SYNCER_API_CLIENT_SECRET_FLIE", "/run/secrets/x")
    monkeypatch.setenv("SYNCER_NOTHING_LIKE_IT", "1")
    monkeypatch.setenv("SYNCER_SYNC_BATCH_SIZE", "lots")  # reported with them
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value).splitlines() == [
        "invalid configuration:",
        "  unknown setting SYNCER_API_CLIENT_SECRET_FLIE (did you mean "
        "SYNCER_API_CLIENT_SECRET_FILE?)",
        "  unknown setting SYNCER_NOTHING_LIKE_IT",
        "  unknown setting syncer_databse_url (did you mean SYNCER_DATABASE_URL?)",
        "  sync_batch_size: Input should be a valid integer, unable to parse string as an integer",
    ]


def test_variables_read_by_name_are_not_unknown_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secret").write_text("s3cr3t")
    (tmp_path / "extra.toml").write_text("sync_page_size = 10\n")
    monkeypatch.setenv("SYNCER_CONFIG_FILE", str(tmp_path / "extra.toml"))
    monkeypatch.setenv("SYNCER_API_CLIENT_SECRET_FILE", str(tmp_path / "secret"))
    monkeypatch.setenv("SYNCER_API_SUBSCRIPTION_KEY_FILE", str(tmp_path / "secret"))
    monkeypatch.setenv("SYNCER_TEST_DATABASE_URL", "postgresql://x@h/tests")
    monkeypatch.setenv("SYNCER_BENCH_DATABASE_URL", "postgresql://x@h/bench")
    monkeypatch.setenv("SYNCER_HEALTH_PUBLISHED_PORT", "8001")
    monkeypatch.setenv("SYNCER_SECRETS_DIR", str(tmp_path))
    s = load_settings()
    assert s.sync_page_size == 10
    assert s.api_subscription_key.get_secret_value() == "s3cr3t"


def test_every_syncer_variable_the_code_and_deployment_read_is_known() -> None:
    """A variable read by name somewhere (code, benchmarks, compose, the image, CI) must not be
    refused as unknown: a new one goes into config.OTHER_VARIABLES."""
    import re

    from syncer.config.load import unknown_variables

    root = Path(__file__).resolve().parents[2]
    files = [
        *root.glob("syncer/**/*.py"), *root.glob("bench/*.py"), root / "tests" / "conftest.py",
        root / "Dockerfile", root / "docker-compose.yml", root / "config" / "example.env",
        *root.glob(".ci/*"), *(p for p in root.glob("deploy/**/*") if p.is_file()),
    ]  # fmt: skip
    names = set()
    for f in files:
        names |= set(re.findall(r"SYNCER_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_*])", f.read_text()))
    assert {"SYNCER_TEST_DATABASE_URL", "SYNCER_SECRETS_DIR", "SYNCER_DATABASE_URL_FILE"} <= names
    assert unknown_variables(dict.fromkeys(names, "")) == []


def test_an_accounts_problem_is_named_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_ACCOUNTS", "[not json")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value) == "invalid configuration: accounts: not valid JSON"


def test_schedule_problems_are_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_SCHEDULE_CRON", "0 0 * * 9")
    monkeypatch.setenv("SYNCER_SCHEDULE_TIMEZONE", "Europe/Atlantis")
    monkeypatch.setenv("SYNCER_LOG_LEVEL", "chatty")
    monkeypatch.setenv("SYNCER_HEALTH_PORT", "70000")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    lines = str(exc.value).splitlines()[1:]
    assert len(lines) == 4
    by_field = {line.strip().split(":")[0]: line for line in lines}
    assert "out of range" in by_field["schedule_cron"]
    assert "unknown time zone" in by_field["schedule_timezone"]
    assert "log_level" in by_field and "health_port" in by_field


def test_jitter_must_be_shorter_than_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_SCHEDULE_INTERVAL_SECONDS", "60")
    monkeypatch.setenv("SYNCER_SCHEDULE_JITTER_SECONDS", "60")
    with pytest.raises(ConfigError, match="schedule_jitter_seconds must be less than"):
        load_settings()


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SYNCER_API_RETRY_AFTER_MAX_SECONDS": "0.5"},
         "api_retry_after_max_seconds must be at least api_retry_after_default_seconds"),
        ({"SYNCER_API_CALL_DEADLINE_SECONDS": "10"},
         "api_call_deadline_seconds must be at least api_timeout_seconds"),
        ({"SYNCER_API_MAX_RESPONSE_BYTES": "1000"}, "api_max_response_bytes"),
        ({"SYNCER_API_TOKEN_REFRESHES_PER_RUN": "0"}, "api_token_refreshes_per_run"),
    ],
)  # fmt: skip
def test_bounds_on_waits_bodies_and_tokens_are_checked_in_one_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    monkeypatch.setenv("SYNCER_API_RETRY_AFTER_DEFAULT_SECONDS", "1")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=says) as refused:
        load_settings()
    assert "\n" not in str(refused.value)  # one problem, one line


def test_log_level_and_format_are_case_insensitive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_LOG_LEVEL", "debug")
    monkeypatch.setenv("SYNCER_LOG_FORMAT", "JSON")
    s = load_settings()
    assert (s.log_level, s.log_format) == ("DEBUG", "json")


def test_a_bad_database_url_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCER_DATABASE_URL", "mysql://u:hunter22@db/w")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert "database_url: must be a PostgreSQL URL" in str(exc.value)
    assert "hunter22" not in str(exc.value)


def test_mask_hides_every_secret_including_per_account_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from syncer.config.masking import secret_values

    monkeypatch.setenv("SYNCER_API_CLIENT_SECRET", "global-secret-1")
    monkeypatch.setenv("SYNCER_API_SUBSCRIPTION_KEY", "global-key-2")
    monkeypatch.setenv("SYNCER_DATABASE_URL", "postgresql://u:db-pass-3@db:5432/w")
    monkeypatch.setenv(
        "SYNCER_ACCOUNTS",
        '[{"customer_number": "1000011111", "client_id": "other",'
        ' "client_secret": "acct-secret-4", "subscription_key": "acct-key-5"}, "1000022222"]',
    )
    s = load_settings()
    shown = str(mask(s))
    secrets = ["global-secret-1", "global-key-2", "db-pass-3", "acct-secret-4", "acct-key-5"]
    assert not [v for v in secrets if v in shown]
    assert mask(s)["accounts"][0]["client_secret"] == "**********"
    assert mask(s)["accounts"][0]["client_id"] == "other"  # not a secret: shown
    assert set(secret_values(s)) == set(secrets)


def test_a_config_file_given_to_load_settings_is_not_left_in_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYNCER_CONFIG_FILE", raising=False)
    f = tmp_path / "prod.toml"
    f.write_text("api_concurrency = 4\n")
    assert load_settings(f).api_concurrency == 4
    assert "SYNCER_CONFIG_FILE" not in os.environ
    assert load_settings().api_concurrency == 16  # the next load does not see it


def test_accounts_are_customer_numbers_each_listed_once_one_line_per_problem(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "SYNCER_ACCOUNTS", "1000012345, 10000-2345,12345678901,1000012345,42,1000034567,42"
    )
    with pytest.raises(ConfigError) as exc:
        load_settings()
    lines = str(exc.value).splitlines()
    assert lines == [
        "invalid configuration:",
        "  accounts.1.customer_number: '10000-2345' is not a ScanSource customer number "
        "(1 to 10 digits, nothing else)",
        "  accounts.2.customer_number: '12345678901' is not a ScanSource customer number "
        "(1 to 10 digits, nothing else)",
    ]
    monkeypatch.setenv("SYNCER_ACCOUNTS", "1000012345,42,1000034567,42,1000012345")
    with pytest.raises(ConfigError) as exc:
        load_settings()
    assert str(exc.value) == (
        "invalid configuration: accounts: listed more than once: 1000012345, 42"
    )
    monkeypatch.setenv("SYNCER_ACCOUNTS", '[{"customer_number": "ABC123"}]')
    with pytest.raises(ConfigError, match="'ABC123' is not a ScanSource customer number"):
        load_settings()
