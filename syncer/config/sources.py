"""Where settings come from: config/default.toml, then an optional config file (--config or
SYNCER_CONFIG_FILE), then SYNCER_* environment variables, and SYNCER_<NAME>_FILE files.

Secrets and the database URL can come from a file (SYNCER_API_CLIENT_SECRET_FILE=/run/secrets/x)
as container platforms deliver them. Each problem reading a source is one ConfigError line.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, TomlConfigSettingsSource

from syncer.errors import ConfigError
from syncer.resources import shipped

DEFAULT_CONFIG = shipped("defaults/default.toml")  # the repository's config/default.toml

ENV_PREFIX = "SYNCER_"

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

# The file given to load_settings (--config), seen by the sources while it builds Settings;
# not written into the environment, where it would outlive the call.
_given_config: ContextVar[Path | None] = ContextVar("given_config", default=None)


@contextmanager
def given_config(path: Path | None) -> Iterator[None]:
    """Within the block, `path` (if any) is the config file, before SYNCER_CONFIG_FILE."""
    token = _given_config.set(path)
    try:
        yield
    finally:
        _given_config.reset(token)


def config_file_from_env() -> Path | None:
    path = os.environ.get("SYNCER_CONFIG_FILE")
    return Path(path) if path else None


def config_files() -> list[Path]:
    """The TOML files read, lowest precedence first: the defaults, then the named file."""
    named = _given_config.get() or config_file_from_env()
    return [p for p in (DEFAULT_CONFIG, named) if p and p.exists()]


def toml_sources(settings_cls: type[BaseSettings]) -> tuple[PydanticBaseSettingsSource, ...]:
    """A source per config file, the one that wins first."""
    return tuple(
        TomlConfigSettingsSource(settings_cls, toml_file=p) for p in reversed(config_files())
    )


def check_toml(files: list[Path]) -> None:
    """A malformed or unreadable TOML file is one line naming the file and the place."""
    for path in files:
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"{path}: cannot read: {reason}") from None


def values_from_files() -> dict[str, str]:
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
