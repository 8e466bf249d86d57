"""Settings: config/default.toml, then an optional config file, then SYNCER_* environment variables.

Secrets are SecretStr, so they print as '**********' everywhere, and can come from a file
(SYNCER_API_CLIENT_SECRET_FILE=/run/secrets/x) as container platforms deliver them; so can the
database URL (SYNCER_DATABASE_URL_FILE), whose password is masked wherever it is shown.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Protocol

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from syncer.errors import ConfigError
from syncer.resources import shipped

DEFAULT_CONFIG = shipped("defaults/default.toml")  # the repository's config/default.toml

PRODUCTION_BASE_URL = "https://api.scansource.com/scsc/salesorder/v1"
PRODUCTION_TOKEN_URL = (
    "https://login.microsoftonline.com/scansourceb2c.onmicrosoft.com/oauth2/v2.0/token"
)
PRODUCTION_SCOPE = (
    "https://scansourceb2c.onmicrosoft.com/a2eccdbd-b208-4e77-a82f-dddd1814309a/.default"
)

SECRET_FIELDS = ("api_client_secret", "api_subscription_key")
# Settings that may come from a file named by SYNCER_<NAME>_FILE: the secrets, and the database
# URL, which holds a password.
FILE_FIELDS = (*SECRET_FIELDS, "database_url")

# SYNCER_* variables read by name that are not settings: the config file, values kept in
# files, the tests' and benchmarks' databases, and docker-compose's own (the published health
# port, the secrets' directory), which an operator's shell may well export.
OTHER_VARIABLES = frozenset(
    {
        "SYNCER_CONFIG_FILE",
        *(f"SYNCER_{name.upper()}_FILE" for name in FILE_FIELDS),
        "SYNCER_TEST_DATABASE_URL",
        "SYNCER_BENCH_DATABASE_URL",
        "SYNCER_HEALTH_PUBLISHED_PORT",
        "SYNCER_SECRETS_DIR",
    }
)
ENV_PREFIX = "SYNCER_"


# A ScanSource customer number: an account number of at most 10 characters, digits in every
# known case (docs/api.md §1). Anything else is a typo that would only fail at the API.
_CUSTOMER_NUMBER = re.compile(r"[0-9]{1,10}")


class Account(BaseModel):
    """One ScanSource customer number; credentials default to the global api_* ones."""

    customer_number: str
    client_id: str | None = None
    client_secret: SecretStr | None = None
    subscription_key: SecretStr | None = None

    @field_validator("customer_number")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not _CUSTOMER_NUMBER.fullmatch(value):
            shown = value if len(value) <= 40 else value[:40] + "…"
            raise ValueError(
                f"{shown!r} is not a ScanSource customer number (1 to 10 digits, nothing else)"
            )
        return value


# The groups, in the order the reference lists them. Each setting declares its group; the
# environment variable (SYNCER_<NAME>) and the TOML key (<name>) stay the flat name.
Group = Literal["database", "api", "sync", "schedule", "health", "logging"]
GROUPS: tuple[Group, ...] = ("database", "api", "sync", "schedule", "health", "logging")
GROUP_TITLES: dict[Group, str] = {
    "database": "Database",
    "api": "ScanSource API",
    "sync": "Sync",
    "schedule": "Schedule (the service)",
    "health": "Health endpoint (the service)",
    "logging": "Logging",
}


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
        # SYNCER_ACCOUNTS=1000012345,1000023456 is friendlier than JSON for the common case.
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise ValueError("not valid JSON") from None
            else:
                return [{"customer_number": n.strip()} for n in value.split(",") if n.strip()]
        if isinstance(value, list):
            return [{"customer_number": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("accounts")
    @classmethod
    def _each_account_once(cls, value: list[Account]) -> list[Account]:
        numbers = [a.customer_number for a in value]
        twice = sorted({n for n in numbers if numbers.count(n) > 1})
        if twice:
            raise ValueError(f"listed more than once: {', '.join(twice)}")
        return value

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
        files = _config_files()
        return (
            init_settings,
            env_settings,
            *(TomlConfigSettingsSource(settings_cls, toml_file=p) for p in reversed(files)),
        )


# The file given to load_settings (--config), seen by the sources while it builds Settings;
# not written into the environment, where it would outlive the call.
_given_config: ContextVar[Path | None] = ContextVar("given_config", default=None)


def _config_file_from_env() -> Path | None:
    path = os.environ.get("SYNCER_CONFIG_FILE")
    return Path(path) if path else None


def _config_files() -> list[Path]:
    named = _given_config.get() or _config_file_from_env()
    return [p for p in (DEFAULT_CONFIG, named) if p and p.exists()]


def _check_toml(files: list[Path]) -> None:
    """A malformed or unreadable TOML file is one line naming the file and the place."""
    for path in files:
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"{path}: cannot read: {reason}") from None


def _secrets_from_files() -> dict[str, str]:
    """SYNCER_<NAME>_FILE points at a file holding the value (Docker/Kubernetes secrets)."""
    found: dict[str, str] = {}
    for name in FILE_FIELDS:
        path = os.environ.get(f"SYNCER_{name.upper()}_FILE")
        if path:
            try:
                found[name] = Path(path).read_text().strip()
            except OSError as exc:
                raise ConfigError(
                    f"SYNCER_{name.upper()}_FILE: cannot read {path}: {exc.strerror}"
                ) from exc
    return found


class _ApiEndpoint(Protocol):
    @property
    def base_url(self) -> str: ...
    @property
    def token_url(self) -> str: ...
    @property
    def scope(self) -> str: ...


class _ApiCredentials(Protocol):
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> str: ...
    @property
    def subscription_key(self) -> str: ...


# The simulator enforces no quota unless a fault asks for one: a limiter set at ScanSource's
# (the default) would make every demo and benchmark measure the quota, not the syncer.
SIMULATOR_RATE = 10_000.0


def simulator_settings(
    api: _ApiEndpoint, credentials: _ApiCredentials, **overrides: Any
) -> Settings:
    """Settings for a running simulator (a `RunningSim`, or the benchmarks' `SimInfo`) and one
    of its subscriptions; the rate limiter out of the way unless `overrides` sets it."""
    return Settings(**{**simulator_overrides(api, credentials), **overrides})


def simulator_overrides(api: _ApiEndpoint, credentials: _ApiCredentials) -> dict[str, Any]:
    """The settings that point at a simulator and one of its subscriptions, with its rate
    limiter out of the way; every other setting keeps its configured value."""
    return {
        "api_base_url": api.base_url,
        "api_token_url": api.token_url,
        "api_scope": api.scope,
        "api_client_id": credentials.client_id,
        "api_client_secret": SecretStr(credentials.client_secret),
        "api_subscription_key": SecretStr(credentials.subscription_key),
        "api_rate_limit_per_second": SIMULATOR_RATE,
    }


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings, turning every problem into one ConfigError with a line per problem: an
    unknown SYNCER_* variable, an unknown key in a file, a value that is not valid."""
    if config_file is not None:
        if not config_file.exists():
            raise ConfigError(f"config file not found: {config_file}")
    elif (named := _config_file_from_env()) is not None and not named.exists():
        raise ConfigError(f"SYNCER_CONFIG_FILE: config file not found: {named}")
    if not DEFAULT_CONFIG.is_file():
        raise ConfigError(f"this installation has no {DEFAULT_CONFIG}: reinstall scansource-syncer")
    problems = unknown_variables(os.environ)
    given = _given_config.set(config_file)
    try:
        _check_toml(_config_files())
        settings = Settings(**{**_secrets_from_files(), **overrides})
    except ValidationError as exc:
        problems += _describe(exc)
    except SettingsError as exc:  # e.g. a malformed TOML file or an env value that is not JSON
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        problems.append(f"{exc}{cause}")
    finally:
        _given_config.reset(given)
    if problems:
        raise ConfigError(_one_error(problems))
    return settings


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A problem for each SYNCER_* variable that is neither a setting nor read by name: a typo
    would otherwise leave its setting at the default without a word."""
    known = {ENV_PREFIX + name.upper() for name in Settings.model_fields} | OTHER_VARIABLES
    # Compared without the prefix, which every candidate shares and would make any name "close".
    suffixes = {name.removeprefix(ENV_PREFIX): name for name in known}
    problems = []
    for name in sorted(environ):
        upper = name.upper()  # pydantic-settings reads the environment case-insensitively
        if upper.startswith(ENV_PREFIX) and upper not in known:
            close = _closest(upper.removeprefix(ENV_PREFIX), suffixes)
            hint = f" (did you mean {suffixes[close]}?)" if close else ""
            problems.append(f"unknown setting {name}{hint}")
    return problems


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, sorted(candidates), n=1)
    return close[0] if close else None


def _one_error(problems: list[str]) -> str:
    if len(problems) == 1:
        return f"invalid configuration: {problems[0]}"
    return "invalid configuration:\n  " + "\n  ".join(problems)


def _describe(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        # Never echo the offending value: it may be a secret.
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            close = _closest(where, Settings.model_fields) if len(err["loc"]) == 1 else None
            msg = f"unknown setting (did you mean {close}?)" if close else "unknown setting"
        lines.append(f"{where}: {msg}" if where else msg)  # a rule across settings names them
    return lines


def mask(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets masked."""
    data = settings.model_dump(mode="json")
    for name in SECRET_FIELDS:
        data[name] = "**********" if getattr(settings, name).get_secret_value() else ""
    for account in data["accounts"]:
        for key in ("client_secret", "subscription_key"):
            if account.get(key):
                account[key] = "**********"
    if "@" in data["database_url"]:
        data["database_url"] = _mask_url_password(data["database_url"])
    return data


def _mask_url_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, for redacting logs: API secrets and the database password."""
    values = [getattr(settings, name).get_secret_value() for name in SECRET_FIELDS]
    for account in settings.accounts:
        values += [
            s.get_secret_value() for s in (account.client_secret, account.subscription_key) if s
        ]
    if settings.database_url:
        from sqlalchemy.engine import make_url

        password = make_url(settings.database_url).password
        if password:
            values.append(str(password))
    return sorted({v for v in values if v}, key=len, reverse=True)


def group_of(name: str) -> Group:
    """The group a setting declares (a KeyError for a name that is no setting)."""
    extra = Settings.model_fields[name].json_schema_extra
    assert isinstance(extra, dict), name
    return extra["group"]  # type: ignore[return-value]


def by_group(data: Mapping[str, Any]) -> dict[Group, dict[str, Any]]:
    """Flat settings data (`mask`'s) split into its groups, in GROUPS order."""
    grouped: dict[Group, dict[str, Any]] = {g: {} for g in GROUPS}
    for name, value in data.items():
        grouped[group_of(name)][name] = value
    return grouped


class Reference(NamedTuple):
    """One setting as the configuration reference lists it."""

    group: Group
    env: str  # SYNCER_<NAME>
    toml_key: str | None  # None: a secret, which belongs in the environment (or its _FILE)
    default: str  # as written in TOML
    description: str


def reference() -> list[Reference]:
    """Every setting, by group (in GROUPS order), then as declared in Settings."""
    rows = [
        Reference(
            group=group_of(name),
            env=ENV_PREFIX + name.upper(),
            toml_key=None if name in SECRET_FIELDS else name,
            default=_toml_value(field.get_default(call_default_factory=True)),
            description=field.description or "",
        )
        for name, field in Settings.model_fields.items()
    ]
    return sorted(rows, key=lambda r: GROUPS.index(r.group))  # stable: declared order kept


def reference_markdown() -> str:
    """The configuration reference as Markdown: a table per group."""
    parts = [
        "# Configuration reference",
        "",
        "Each setting is read from config/default.toml, then the file given with --config or "
        "SYNCER_CONFIG_FILE, then its environment variable (which wins).",
    ]
    rows = reference()
    for group in GROUPS:
        parts += [
            "",
            f"## {GROUP_TITLES[group]}",
            "",
            "| Environment variable | Config key | Default | Description |",
            "| --- | --- | --- | --- |",
        ]
        for r in (r for r in rows if r.group == group):
            env = f"`{r.env}`"
            if r.env.removeprefix(ENV_PREFIX).lower() in FILE_FIELDS:
                env += f" or `{r.env}_FILE`"
            key = f"`{r.toml_key}`" if r.toml_key else "(environment only)"
            described = r.description.replace("|", "\\|")
            parts.append(f"| {env} | {key} | `{r.default}` | {described} |")
    return "\n".join(parts) + "\n"


def _toml_value(value: Any) -> str:
    """A default as TOML writes it (the secrets' default is the empty string)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value))
    if isinstance(value, list) and not value:
        return "[]"
    raise TypeError(f"no TOML form for the default {value!r}")
