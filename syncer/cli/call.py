"""Running one `syncer api` call: which API (the configured one, or a simulator in this
process), a client for it, the answer printed as JSON, and errors as one line and an exit code
(1 for what the API or the network said, 2 for bad arguments, input or configuration).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from pydantic import BaseModel, SecretStr, ValidationError

from syncer.cli.exit_codes import ExitCode
from syncer.config.accounts import Account
from syncer.config.load import load_settings
from syncer.config.settings import Settings
from syncer.config.simulator import simulator_overrides
from syncer.errors import ConfigError, SyncerError

if TYPE_CHECKING:  # the client stack (aiohttp) is imported when a command runs, not for --help
    from syncer.api.client import ScanSourceClient

SIM_CREATE_DELAY_SECONDS = 2.0  # the in-process simulator places async orders quickly
CONCURRENCY = 4  # HTTP connections of one ad-hoc call (a search's pages come one at a time)


class UsageError(Exception):
    """Bad arguments or input: exit 2."""


@dataclass
class Target:
    sim: bool
    seed: int
    config: Path | None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _by_api_names(value: Any) -> Any:
    import msgspec

    if isinstance(value, BaseModel):  # a request
        return value.model_dump(by_alias=True)
    if isinstance(value, msgspec.Struct):  # an answer (syncer.api.payload)
        return msgspec.to_builtins(value, builtin_types=(Decimal, datetime, date))
    return value


def dump(value: Any) -> str:
    if isinstance(value, list):
        value = [_by_api_names(v) for v in value]
    return json.dumps(_by_api_names(value), default=_jsonable, ensure_ascii=False, indent=2)


def print_json(value: Any) -> None:
    sys.stdout.write(dump(value) + "\n")


async def print_pages(pages: AsyncIterator[list[Any]]) -> None:
    """One JSON array, written row by row as pages arrive: memory stays at one page."""
    sys.stdout.write("[")
    first = True
    async for page in pages:
        for row in page:
            sys.stdout.write(("\n" if first else ",\n") + dump(row))
            first = False
        sys.stdout.flush()
    sys.stdout.write("\n]\n" if not first else "]\n")


def fail(message: str, code: int) -> typer.Exit:
    sys.stderr.write(f"error: {message}\n")
    return typer.Exit(code)


def _settings(target: Target, **overrides: Any) -> Settings:
    try:
        return load_settings(target.config, **overrides)
    except SyncerError as exc:
        raise fail(str(exc), ExitCode.CONFIG) from None


@contextlib.asynccontextmanager
async def open_client(
    target: Target, customer: str | None
) -> AsyncIterator[tuple[ScanSourceClient, str]]:
    """A client for `customer` (default: the first configured or demo account), built from the
    settings as every other command builds its clients (syncer.service.options); with --sim,
    pointed at the simulator and its demo credentials, every other setting still applied."""
    from syncer.api.auth import Credentials
    from syncer.api.ratelimit import RateLimiter
    from syncer.cli.common import redactor
    from syncer.service import options
    from syncer.service.runtime import credentials_for, open_session

    async with contextlib.AsyncExitStack() as stack:
        if target.sim:
            from syncer.sim import SimConfig, Simulator, run_simulator

            sim = Simulator(
                SimConfig(seed=target.seed, create_delay_seconds=SIM_CREATE_DELAY_SECONDS)
            )
            running = await stack.enter_async_context(run_simulator(sim))
            sub = sim.config.subscriptions[0]
            settings = _settings(target, **simulator_overrides(running, sub))
            customer = customer or sub.customer_numbers[0]
            creds = Credentials(
                sub.client_id, SecretStr(sub.client_secret), SecretStr(sub.subscription_key)
            )
        else:
            settings = _settings(target)
            if customer is None:
                if not settings.accounts:
                    raise ConfigError(
                        "no customer number: pass --customer, or set SYNCER_ACCOUNTS "
                        "(or use `syncer api --sim ...` to try the simulator)"
                    )
                customer = settings.accounts[0].customer_number
            account = next(
                (a for a in settings.accounts if a.customer_number == customer),
                Account(customer_number=customer),
            )
            try:
                creds = credentials_for(settings, account)
            except ConfigError as exc:
                raise ConfigError(
                    f"{exc}; or use `syncer api --sim ...` for the simulator"
                ) from None
        session_options = replace(options.session_options(settings), concurrency=CONCURRENCY)
        session = await stack.enter_async_context(open_session(session_options))
        client = options.client_options(settings).client(
            session, creds, limiter=RateLimiter(options.limits(settings)), redactor=redactor()
        )
        yield client, customer


def run(coro: Coroutine[Any, Any, None]) -> None:
    try:
        asyncio.run(coro)
    except typer.Exit:
        raise
    except (UsageError, ConfigError) as exc:
        raise fail(str(exc), ExitCode.CONFIG) from None
    except ValidationError as exc:  # a request model built from arguments or a file
        from syncer.api.operation_models import describe_validation

        raise fail(f"invalid request: {describe_validation(exc)}", ExitCode.CONFIG) from None
    except SyncerError as exc:
        raise fail(str(exc), ExitCode.FAILED) from None
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None


def call(
    ctx: typer.Context,
    customer: str | None,
    action: Callable[[ScanSourceClient, str], Awaitable[Any]],
) -> None:
    async def go() -> None:
        async with open_client(ctx.obj, customer) as (client, number):
            result = await action(client, number)
            if result is not None:
                print_json(result)

    run(go())


def read_json(path: Path) -> Any:
    """A JSON document from a file, or from stdin for `-`."""
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None
