"""Settings: the model of every setting, with its type, default, limits, group and description.

Each setting is read from config/default.toml, then a config file, then its SYNCER_<NAME>
variable (syncer.config.sources); load_settings (syncer.config.load) builds it. Secrets are
SecretStr, so they print as '**********' everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from syncer.config.accounts import Account, accounts_from_text, each_account_once
from syncer.config.sources import ENV_PREFIX, toml_sources

PRODUCTION_BASE_URL = "https://api.scansource.com/scsc/salesorder/v1"
PRODUCTION_TOKEN_URL = (
    "https://login.microsoftonline.com/scansourceb2c.onmicrosoft.com/oauth2/v2.0/token"
)
PRODUCTION_SCOPE = (
    "https://scansourceb2c.onmicrosoft.com/a2eccdbd-b208-4e77-a82f-dddd1814309a/.default"
)


# The groups, in the order the reference lists them. Each setting declares its group; the
# environment variable (SYNCER_<NAME>) and the TOML key (<name>) stay the flat name.
Group = Literal["database", "api", "sync", "schedule", "health", "logging"]
GROUPS: tuple[Group, ...] = ("database", "api", "sync", "schedule", "health", "logging")


def _in(group: Group, description: str, **field: Any) -> Any:
    """A setting's Field, with its group and a one-line description for the reference."""
    return Field(description=description, json_schema_extra={"group": group}, **field)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    # -- database ---------------------------------------------------------------------------
    database_url: str = _in(
        "database",
        "PostgreSQL URL (postgresql://user:password@host:5432/db); empty: `syncer demo` "
        "starts an embedded Postgres.",
        default="",
    )
    embedded_db_dir: Path = _in(
        "database", "Where `syncer demo`'s embedded Postgres keeps its data.",
        default=Path(".syncer/pgdata"),
    )  # fmt: skip
    db_pool_size: int = _in(
        "database", "Connections kept open in the pool (more are opened when runs need them).",
        default=5, ge=1, le=100,
    )  # fmt: skip

    # -- api --------------------------------------------------------------------------------
    api_base_url: str = _in("api", "The Sales Order API's base URL.", default=PRODUCTION_BASE_URL)
    api_token_url: str = _in("api", "The OAuth2 token endpoint.", default=PRODUCTION_TOKEN_URL)
    api_scope: str = _in("api", "The OAuth2 scope asked for.", default=PRODUCTION_SCOPE)
    api_client_id: str = _in("api", "OAuth2 client id from the partner portal.", default="")
    api_client_secret: SecretStr = _in(
        "api", "OAuth2 client secret (environment or file only).", default=SecretStr("")
    )
    api_subscription_key: SecretStr = _in(
        "api", "The API subscription key (environment or file only).", default=SecretStr("")
    )
    api_timeout_seconds: float = _in(
        "api", "Seconds before a single API call is abandoned (and retried).", default=30.0, gt=0
    )
    api_concurrency: int = _in(
        "api", "Detail fetchers working at once per account.", default=16, ge=1, le=500
    )
    api_verify_tls: bool = _in("api", "Verify the API's TLS certificate.", default=True)
    # One adaptive limiter per subscription key (syncer.api.ratelimit); see config/default.toml.
    api_rate_limit_per_second: float = _in(
        "api", "Requests per second one subscription key may make (its quota).",
        default=20.0, gt=0, le=10_000,
    )  # fmt: skip
    api_rate_burst: int = _in(
        "api", "Requests that may go at once after a quiet spell (the token bucket's size).",
        default=5, ge=1, le=10_000,
    )  # fmt: skip
    api_max_in_flight: int = _in(
        "api", "Requests of one key waiting for an answer at any moment.",
        default=16, ge=1, le=1000,
    )  # fmt: skip
    api_rate_decrease: float = _in(
        "api", "Factor the rate is multiplied by after a 429.", default=0.5, gt=0, lt=1
    )
    api_rate_recovery_seconds: float = _in(
        "api", "Seconds the rate takes to climb back from zero to the ceiling.",
        default=15.0, gt=0,
    )  # fmt: skip
    api_retry_after_default_seconds: float = _in(
        "api", "The pause after a 429 that carries no Retry-After.", default=1.0, ge=0, le=3600
    )
    api_retry_after_max_seconds: float = _in(
        "api", "The longest pause a 429's Retry-After can impose on the key.",
        default=120.0, gt=0, le=86_400,
    )  # fmt: skip
    api_call_deadline_seconds: float = _in(
        "api", "The most time one call may spend in all (attempts, backoffs, pauses).",
        default=300.0, gt=0, le=86_400,
    )  # fmt: skip
    api_max_response_bytes: int = _in(
        "api", "The largest response body accepted; a larger one fails its order.",
        default=32 * 2**20, ge=64 * 2**10, le=2**31,
    )  # fmt: skip
    api_max_attempts: int = _in(
        "api", "Attempts per call for timeouts, resets, 5xx and broken bodies.",
        default=5, ge=1, le=50,
    )  # fmt: skip
    api_max_throttled: int = _in(
        "api", "429s a single call may receive before it gives up.", default=30, ge=0, le=10_000
    )
    api_backoff_base_seconds: float = _in(
        "api", "Base of the exponential backoff between attempts.", default=0.25, ge=0
    )
    api_backoff_cap_seconds: float = _in(
        "api", "Cap of the exponential backoff between attempts.", default=20.0, ge=0
    )
    api_token_leeway_seconds: float = _in(
        "api", "Tokens are fetched again this many seconds before they expire.",
        default=120.0, ge=0,
    )  # fmt: skip
    api_max_pages: int = _in(
        "api", "Pages one search may read before it is taken for a list that never ends.",
        default=10_000, ge=1, le=10_000_000,
    )  # fmt: skip
    api_token_refreshes_per_call: int = _in(
        "api", "Fresh tokens one call may wait for.", default=5, ge=1, le=100
    )
    api_token_refreshes_per_run: int = _in(
        "api", "Token requests one run may make.", default=100, ge=1, le=100_000
    )

    # -- sync -------------------------------------------------------------------------------
    # NoDecode: SYNCER_ACCOUNTS may be a plain comma list; the validator below reads it.
    accounts: Annotated[list[Account], NoDecode] = _in(
        "sync", "Customer numbers to sync (a comma list, or tables with their own credentials).",
        default_factory=list,
    )  # fmt: skip
    sync_batch_size: int = _in(
        "sync", "Orders written per database transaction, at most.", default=200, ge=1, le=10_000
    )
    sync_writers: int = _in(
        "sync", "Batches written at the same time, each on its own connection.",
        default=2, ge=1, le=16,
    )  # fmt: skip
    sync_page_size: int = _in(
        "sync", "Rows per list page (the API's maximum is 1000).", default=1000, ge=1, le=1000
    )
    sync_lookback_days: int = _in(
        "sync", "Each poll lists orders changed since the watermark's day minus this many days.",
        default=1, ge=0, le=3650,
    )  # fmt: skip
    sync_timezone: str = _in(
        "sync", "ScanSource's local time zone (the list's date filters).",
        default="America/New_York",
    )  # fmt: skip
    sync_safety_margin_seconds: int = _in(
        "sync", "A held order is fetched again unless fetched this long after its LastChanged.",
        default=120, ge=0,
    )  # fmt: skip
    sync_lock_wait: bool = _in(
        "sync", "Wait for another instance syncing the account (false: skip it).", default=False
    )
    sync_defer_foreign_keys: bool = _in(
        "sync", "A first load checks foreign keys once at its end, not row by row.", default=True
    )
    sync_gone_after_attempts: int = _in(
        "sync", "Runs in a row that find a failed order gone before it is closed as gone.",
        default=3, ge=1, le=1000,
    )  # fmt: skip

    # -- schedule ---------------------------------------------------------------------------
    schedule_interval_seconds: int = _in(
        "schedule", "Each account is synced every this many seconds.", default=900, ge=1
    )
    schedule_cron: str = _in(
        "schedule", "A crontab(5) expression used instead of the interval when not empty.",
        default="",
    )  # fmt: skip
    schedule_timezone: str = _in(
        "schedule", "Time zone of the cron expression's hours and days.", default="UTC"
    )
    schedule_jitter_seconds: int = _in(
        "schedule", "Each run starts up to this many seconds late, at random.", default=30, ge=0
    )
    schedule_run_at_start: bool = _in(
        "schedule", "Run every account once right after start.", default=True
    )
    shutdown_grace_seconds: float = _in(
        "schedule", "On SIGTERM/SIGINT, runs in flight get this long before they are cancelled.",
        default=30.0, gt=0, le=3600,
    )  # fmt: skip

    # -- health -----------------------------------------------------------------------------
    health_host: str = _in(
        "health", "Address of /healthz, /readyz and /metrics.", default="127.0.0.1"
    )
    health_port: int = _in(
        "health", "Port of the endpoint (0: a free one, logged at start).",
        default=8000, ge=0, le=65535,
    )  # fmt: skip
    health_stale_after_runs: float = _in(
        "health", "/readyz reports an account stale after this many schedule periods.",
        default=3.0, ge=1.0,
    )  # fmt: skip

    # -- logging ----------------------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = _in(
        "logging", "DEBUG, INFO, WARNING or ERROR.", default="INFO"
    )
    log_format: Literal["auto", "json", "console"] = _in(
        "logging", "auto (console on a terminal, else JSON), json or console.", default="auto"
    )

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts_from_text(cls, value: Any) -> Any:
        return accounts_from_text(value)

    @field_validator("accounts")
    @classmethod
    def _each_account_once(cls, value: list[Account]) -> list[Account]:
        return each_account_once(value)

    @field_validator("sync_timezone", "schedule_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _case_insensitive(cls, value: Any, info: Any) -> Any:
        if not isinstance(value, str):
            return value
        return value.upper() if info.field_name == "log_level" else value.lower()

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if not value:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except (ArgumentError, ValueError):
            # Never echo the value: it holds a password.
            raise ValueError("not a valid database URL (postgresql://user:pw@host/db)") from None
        if backend not in ("postgres", "postgresql"):
            raise ValueError(f"must be a PostgreSQL URL, not {backend}")
        return value

    @field_validator("schedule_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if value.strip():
            from syncer.config.schedule import cron_trigger, expected_period

            expected_period(cron_trigger(value, "UTC"))  # raises ValueError saying what is wrong
        return value.strip()

    @model_validator(mode="after")
    def _waits_in_order(self) -> Settings:
        if self.api_retry_after_max_seconds < self.api_retry_after_default_seconds:
            raise ValueError(
                "api_retry_after_max_seconds must be at least api_retry_after_default_seconds"
            )
        if self.api_call_deadline_seconds < self.api_timeout_seconds:
            raise ValueError("api_call_deadline_seconds must be at least api_timeout_seconds")
        return self

    @model_validator(mode="after")
    def _jitter_below_interval(self) -> Settings:
        if (
            not self.schedule_cron
            and self.schedule_jitter_seconds >= self.schedule_interval_seconds
        ):
            raise ValueError("schedule_jitter_seconds must be less than schedule_interval_seconds")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, *toml_sources(settings_cls))
