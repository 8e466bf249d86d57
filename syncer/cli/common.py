"""What every `syncer` command shares: the consoles, logging, the process's Redactor, settings,
and errors turned into one line and an exit code. The only place that configures logging."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from syncer.cli.exit_codes import ExitCode
from syncer.config.load import load_settings
from syncer.config.masking import secret_values
from syncer.config.settings import Settings
from syncer.errors import ConfigError, SyncerError
from syncer.redact import Redactor

T = TypeVar("T")

out = Console(soft_wrap=True)  # a long line stays one line when piped
err = Console(stderr=True, soft_wrap=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file (else SYNCER_CONFIG_FILE).")
]


def setup_logging(settings: Settings | None = None) -> None:
    """Before settings are read: from the environment, leniently; then from the settings, with
    their secrets to redact. Our own logs at log_level; libraries only warn. Every line passes
    through the process's Redactor, which also learns each bearer token as it is minted."""
    from syncer.logs import setup_logging as setup

    if settings is None:
        level = os.environ.get("SYNCER_LOG_LEVEL", "INFO").upper()
        fmt = os.environ.get("SYNCER_LOG_FORMAT", "auto").lower()
        setup(
            level=level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "INFO",
            fmt="json" if fmt == "json" else "console" if fmt == "console" else "auto",
            redactor=redactor(),
        )
        return
    for secret in secret_values(settings):
        redactor().add(secret)
    setup(level=settings.log_level, fmt=settings.log_format, redactor=redactor())


@functools.cache
def redactor() -> Redactor:
    """The process's one Redactor, made on first use: the log handlers mask with it, and it
    learns every secret from the settings and every token as it is minted."""
    return Redactor()


def fail(message: object, code: int) -> typer.Exit:
    # soft_wrap: one problem stays one line, however narrow the terminal (or none at all);
    # escaped: brackets in the message (an extra's name, a list) are text, not markup.
    err.print(f"[red]error:[/red] {escape(str(message))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; a SyncerError becomes one readable line and an exit code: 2 for a
    ConfigError, 1 for any other."""
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        coro.close()
        raise fail(exc, ExitCode.CONFIG) from None
    except SyncerError as exc:
        coro.close()
        raise fail(exc, ExitCode.FAILED) from None
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None


def settings_for(config: Path | None, **overrides: Any) -> Settings:
    try:
        loaded = load_settings(config, **overrides)
    except SyncerError as exc:
        raise fail(exc, ExitCode.CONFIG) from None
    setup_logging(loaded)
    return loaded
