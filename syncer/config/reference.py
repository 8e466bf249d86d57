"""The configuration reference, generated from the Settings model so it cannot drift: each
setting's group, variable, config key, default and description, as rows and as the Markdown
`syncer config reference` prints; and settings split by group for `syncer config show --grouped`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import SecretStr

from syncer.config.settings import GROUPS, Group, Settings
from syncer.config.sources import ENV_PREFIX, FILE_FIELDS, SECRET_FIELDS

GROUP_TITLES: dict[Group, str] = {
    "database": "Database",
    "api": "ScanSource API",
    "sync": "Sync",
    "schedule": "Schedule (the service)",
    "health": "Health endpoint (the service)",
    "logging": "Logging",
}


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
