"""load_settings: Settings built from their sources, every problem found reported at once.

An unknown SYNCER_* variable or config key (with the name it was probably meant to be), a value
that is not valid, a config file that is missing or not TOML: each is one line of a single
ConfigError, never a traceback, and a value is never echoed (it may be a secret).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError

from syncer.config.settings import Settings
from syncer.config.sources import (
    DEFAULT_CONFIG,
    ENV_PREFIX,
    OTHER_VARIABLES,
    check_toml,
    config_file_from_env,
    config_files,
    given_config,
    values_from_files,
)
from syncer.errors import ConfigError


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings, turning every problem into one ConfigError with a line per problem: an
    unknown SYNCER_* variable, an unknown key in a file, a value that is not valid."""
    if config_file is not None:
        if not config_file.exists():
            raise ConfigError(f"config file not found: {config_file}")
    elif (named := config_file_from_env()) is not None and not named.exists():
        raise ConfigError(f"SYNCER_CONFIG_FILE: config file not found: {named}")
    if not DEFAULT_CONFIG.is_file():
        raise ConfigError(f"this installation has no {DEFAULT_CONFIG}: reinstall scansource-syncer")
    problems = unknown_variables(os.environ)
    with given_config(config_file):
        try:
            check_toml(config_files())
            settings = Settings(**{**values_from_files(), **overrides})
        except ValidationError as exc:
            problems += _describe(exc)
        except SettingsError as exc:  # e.g. a malformed TOML file or an env value that is not JSON
            cause = f": {exc.__cause__}" if exc.__cause__ else ""
            problems.append(f"{exc}{cause}")
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
