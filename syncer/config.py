"""Settings: config/default.toml, then an optional config file, then SYNCER_* environment variables.

Secrets are SecretStr, so they print as '**********' everywhere, and can come from a file
(SYNCER_API_CLIENT_SECRET_FILE=/run/secrets/x) as container platforms deliver them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from syncer.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "default.toml"

PRODUCTION_BASE_URL = "https://api.scansource.com/scsc/salesorder/v1"
PRODUCTION_TOKEN_URL = (
    "https://login.microsoftonline.com/scansourceb2c.onmicrosoft.com/oauth2/v2.0/token"
)
PRODUCTION_SCOPE = (
    "https://scansourceb2c.onmicrosoft.com/a2eccdbd-b208-4e77-a82f-dddd1814309a/.default"
)

SECRET_FIELDS = ("api_client_secret", "api_subscription_key")


class Account(BaseModel):
    """One ScanSource customer number; credentials default to the global api_* ones."""

    customer_number: str = Field(min_length=1, max_length=10)
    client_id: str | None = None
    client_secret: SecretStr | None = None
    subscription_key: SecretStr | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SYNCER_", extra="forbid")

    database_url: str = ""
    embedded_db_dir: Path = Path(".syncer/pgdata")
    db_pool_size: int = Field(default=5, ge=1, le=100)

    api_base_url: str = PRODUCTION_BASE_URL
    api_token_url: str = PRODUCTION_TOKEN_URL
    api_scope: str = PRODUCTION_SCOPE
    api_client_id: str = ""
    api_client_secret: SecretStr = SecretStr("")
    api_subscription_key: SecretStr = SecretStr("")
    api_timeout_seconds: float = Field(default=30.0, gt=0)
    api_concurrency: int = Field(default=16, ge=1, le=500)
    api_verify_tls: bool = True
    # One adaptive limiter per subscription key (syncer.ratelimit); see config/default.toml.
    api_rate_limit_per_second: float = Field(default=20.0, gt=0, le=10_000)
    api_rate_burst: int = Field(default=5, ge=1, le=10_000)
    api_max_in_flight: int = Field(default=16, ge=1, le=1000)
    api_rate_decrease: float = Field(default=0.5, gt=0, lt=1)
    api_rate_recovery_seconds: float = Field(default=15.0, gt=0)
    api_retry_after_default_seconds: float = Field(default=1.0, ge=0, le=3600)
    api_max_attempts: int = Field(default=5, ge=1, le=50)
    api_max_throttled: int = Field(default=30, ge=0, le=10_000)
    api_backoff_base_seconds: float = Field(default=0.25, ge=0)
    api_backoff_cap_seconds: float = Field(default=20.0, ge=0)
    api_token_leeway_seconds: float = Field(default=120.0, ge=0)

    # NoDecode: SYNCER_ACCOUNTS may be a plain comma list; the validator below reads it.
    accounts: Annotated[list[Account], NoDecode] = Field(default_factory=list)

    sync_batch_size: int = Field(default=100, ge=1, le=10_000)
    sync_page_size: int = Field(default=1000, ge=1, le=1000)
    sync_lookback_days: int = Field(default=1, ge=0, le=3650)
    sync_timezone: str = "America/New_York"
    sync_safety_margin_seconds: int = Field(default=120, ge=0)

    @field_validator("accounts", mode="before")
    @classmethod
    def _accounts_from_text(cls, value: Any) -> Any:
        # SYNCER_ACCOUNTS=1000012345,1000023456 is friendlier than JSON for the common case.
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    raise ValueError("accounts: not valid JSON") from None
            else:
                return [{"customer_number": n.strip()} for n in value.split(",") if n.strip()]
        if isinstance(value, list):
            return [{"customer_number": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("sync_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = [p for p in (DEFAULT_CONFIG, _config_file_from_env()) if p and p.exists()]
        return (
            init_settings,
            env_settings,
            *(TomlConfigSettingsSource(settings_cls, toml_file=p) for p in reversed(files)),
        )


def _config_file_from_env() -> Path | None:
    path = os.environ.get("SYNCER_CONFIG_FILE")
    return Path(path) if path else None


def _secrets_from_files() -> dict[str, str]:
    """SYNCER_<SECRET>_FILE points at a file holding the secret (Docker/Kubernetes secrets)."""
    found: dict[str, str] = {}
    for name in SECRET_FIELDS:
        path = os.environ.get(f"SYNCER_{name.upper()}_FILE")
        if path:
            try:
                found[name] = Path(path).read_text().strip()
            except OSError as exc:
                raise ConfigError(
                    f"SYNCER_{name.upper()}_FILE: cannot read {path}: {exc.strerror}"
                ) from exc
    return found


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings, turning validation errors into one ConfigError with a line per problem."""
    if config_file is not None:
        if not config_file.exists():
            raise ConfigError(f"config file not found: {config_file}")
        os.environ["SYNCER_CONFIG_FILE"] = str(config_file)
    try:
        return Settings(**{**_secrets_from_files(), **overrides})
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:  # e.g. a malformed TOML file or an env value that is not JSON
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        raise ConfigError(f"invalid configuration: {exc}{cause}") from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        # Never echo the offending value: it may be a secret.
        lines.append(f"{where}: {err['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


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

    return make_url(url).render_as_string(hide_password=True)
