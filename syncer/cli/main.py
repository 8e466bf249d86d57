"""The `syncer` command: its subcommands and what they print. Shared plumbing (settings, logging,
errors as exit codes) is in `syncer.cli.common`, the `db` and `api` subcommands in their modules."""

from __future__ import annotations

import json
import os
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from syncer import __version__
from syncer.cli import exit_codes
from syncer.cli.api import api_app
from syncer.cli.common import (
    ConfigOption,
    err,
    fail,
    out,
    redactor,
    run_async,
    settings_for,
    setup_logging,
)
from syncer.cli.db import db_app
from syncer.cli.exit_codes import ExitCode
from syncer.config.masking import mask
from syncer.config.reference import by_group, reference_markdown
from syncer.config.settings import Settings
from syncer.errors import ConfigError
from syncer.redact import Redactor
from syncer.states import Outcome, RunKind

app = typer.Typer(
    help="Keep a PostgreSQL warehouse in step with the ScanSource Sales Order API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,  # --install-completion / --show-completion
    # Inherited by every subcommand's context, so -h works everywhere.
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(api_app, name="api")


def _print_version(wanted: bool) -> None:
    if wanted:
        out.print(__version__)
        raise typer.Exit()


@app.callback()
def main_options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Debug logging (SYNCER_LOG_LEVEL=DEBUG).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    if verbose:
        # Through the environment, so that `config show` reports the level in effect.
        os.environ["SYNCER_LOG_LEVEL"] = "DEBUG"
    setup_logging()


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command(epilog=exit_codes.DEMO)
def demo(
    ctx: typer.Context,
    orders: Annotated[int, typer.Option(help="Simulated orders per account (3 accounts).")] = 1000,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the embedded Postgres keeps its data.",
            show_default="the embedded_db_dir setting",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 42,
    config: ConfigOption = None,
) -> None:
    """Simulator + Postgres (SYNCER_DATABASE_URL or embedded) + migrations + one full sync."""
    from syncer.cli.demo import render_demo, run_demo

    settings = settings_for(config)
    data_dir = data_dir or settings.embedded_db_dir
    where = settings.database_url or f"an embedded Postgres in {data_dir}"
    out.print(f"Simulating {orders} orders × 3 accounts; loading into {where} …")
    report = run_async(
        run_demo(
            orders_per_account=orders,
            database_url=settings.database_url,
            embedded_dir=data_dir,
            seed=seed,
            redactor=redactor(),
        )
    )
    for part in render_demo(report):
        out.print(part)
    if any(r.outcome != Outcome.SUCCEEDED for r in report.results):
        raise typer.Exit(ExitCode.FAILED)


@app.command(epilog=exit_codes.RUNS)
def sync(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run one sync of every account and exit.")
    ] = False,
    account: Annotated[list[str] | None, typer.Option(help="Only these customer numbers.")] = None,
    config: ConfigOption = None,
) -> None:
    """Sync every configured account once (`syncer run` is the scheduled service). Prints each
    account's run as one line of JSON."""
    if not once:
        usage = "use `syncer sync --once` for a single run, or `syncer run` for the service"
        raise fail(usage, ExitCode.CONFIG)
    settings = settings_for(config)
    results = run_async(_sync_once(settings, account or [], redactor()))
    _report(results)


def _report(results: list[dict[str, Any]]) -> None:
    """Each run as one line of JSON on stdout (NDJSON); each failure or skip also as a line on
    stderr; the exit code says whether any run failed or any account was skipped."""
    for r in results:
        typer.echo(json.dumps(r, separators=(",", ":")))
    for r in results:
        if r["outcome"] == Outcome.SKIPPED:
            err.print(f"warning: account {r['account']}: skipped, another instance is syncing it")
        elif r["outcome"] != Outcome.SUCCEEDED:
            message = str(r.get("error") or r["outcome"])
            if not message.startswith("account "):
                message = f"account {r['account']}: {message}"
            err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(exit_codes.for_runs(r["outcome"] for r in results))


async def _sync_once(
    settings: Settings, only: list[str], redactor: Redactor
) -> list[dict[str, Any]]:
    from syncer.service.runner import select_accounts, sync_accounts
    from syncer.service.runtime import open_runtime
    from syncer.warehouse import database as db

    async with open_runtime(settings, redactor=redactor) as rt:
        numbers = select_accounts(settings, only)
        await db.check_ready(rt.engine)
        return await sync_accounts(rt, numbers)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


@app.command(epilog=exit_codes.RUNS)
def backfill(
    from_: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD), last-change date.")],
    to: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD), inclusive.")],
    account: Annotated[list[str] | None, typer.Option(help="Only these customer numbers.")] = None,
    force: Annotated[
        bool, typer.Option(help="Fetch every listed order, even ones already held.")
    ] = False,
    chunk_days: Annotated[
        int,
        typer.Option(
            min=1,
            help="Days listed at a time; twice as many after a stretch whose orders fit in half "
            "a list page, up to a year, and this many again after one that needed more than a "
            "page.",
        ),
    ] = 7,
    config: ConfigOption = None,
) -> None:
    """Re-sync the orders changed in a date range. Safe to interrupt and run again: what was
    committed stays, and a re-run skips it. Prints each account's run as one line of JSON."""
    start, end = _day(from_, "--from"), _day(to, "--to")
    if start > end:
        raise typer.BadParameter("--from is after --to", param_hint="--from")
    settings = settings_for(config)
    window = (start, end)
    results = run_async(_backfill(settings, account or [], window, force, chunk_days, redactor()))
    _report(results)


async def _backfill(
    settings: Settings,
    only: list[str],
    window: tuple[date, date],
    force: bool,
    chunk_days: int,
    redactor: Redactor,
) -> list[dict[str, Any]]:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from syncer.service.runner import select_accounts, sync_accounts
    from syncer.service.runtime import open_runtime
    from syncer.sync.result import RunResult
    from syncer.warehouse import database as db

    async with open_runtime(settings, redactor=redactor) as rt:
        numbers = select_accounts(settings, only)
        await db.check_ready(rt.engine)
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err
        ) as bar:
            tasks = {n: bar.add_task(f"{n}: listing…", total=None) for n in numbers}
            began = time.perf_counter()

            def show(r: RunResult) -> None:
                c = r.counts
                rate = c.loaded / max(time.perf_counter() - began, 1e-6)
                bar.update(
                    tasks[r.account],
                    description=f"{r.account}: listed {c.listed:,}  fetched {c.fetched:,}  "
                    f"loaded {c.loaded:,}  unchanged {c.unchanged:,}  failed {c.failed:,}  "
                    f"({rate:,.0f} orders/s)",
                )

            return await sync_accounts(
                rt, numbers, window=window, kind=RunKind.BACKFILL, force=force, progress=show,
                chunk_days=chunk_days,
            )  # fmt: skip


@app.command(epilog=exit_codes.SERVICE)
def run(config: ConfigOption = None) -> None:
    """The service: syncs every account on its schedule and serves /healthz, /readyz and
    /metrics, until SIGTERM or SIGINT (then stops within shutdown_grace_seconds, exit 0)."""
    from syncer.service.scheduler import run_service

    settings = settings_for(config)
    run_async(run_service(settings, redactor()))


@app.command(epilog=exit_codes.HEALTH)
def health(
    url: Annotated[
        str | None, typer.Option(help="URL to probe (default: the configured health endpoint).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Probe a running service's /healthz; exit 0 if it answers (the container's HEALTHCHECK)."""
    import urllib.error
    import urllib.request

    if url is None:
        from syncer.service.options import health_options

        endpoint = health_options(settings_for(config))
        if endpoint.port == 0:
            usage = "health_port is 0 (a free port picked at start): give --url"
            raise fail(usage, ExitCode.CONFIG)
        host = endpoint.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 (a wildcard bind is probed on loopback)
            host = "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        url = f"http://{host}:{endpoint.port}/healthz"
    if not url.startswith(("http://", "https://")):
        raise fail(f"not an HTTP URL: {url}", ExitCode.CONFIG)
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (scheme checked above)
            status = resp.status
    except (urllib.error.URLError, OSError) as exc:
        raise fail(f"{url}: {getattr(exc, 'reason', exc)}", ExitCode.FAILED) from None
    out.print(f"{url}: {status}")


@app.command(epilog=exit_codes.SIMULATOR)
def sim(
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    orders: Annotated[int, typer.Option(min=0, help="Orders per account.")] = 1000,
    seed: Annotated[int, typer.Option(help="Data seed.")] = 42,
    latency_ms: Annotated[float, typer.Option(min=0, help="Added latency per API call.")] = 0.0,
    events_per_hour: Annotated[
        float, typer.Option(min=0, help="Random order events (ship, hold, cancel, ...) per hour.")
    ] = 0.0,
    create_delay: Annotated[
        float, typer.Option(min=0, help="Seconds before an async-created order appears.")
    ] = 60.0,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            help="Inject faults: NAME=VALUE[,NAME=VALUE...], repeatable, or `chaos`. "
            "E.g. rate_limit=50 (requests/s per key), error_rate=0.02, hang_rate=0.01, "
            "token_expiry_rate=0.01, quirk_rate=0.3. Names: see syncer/sim/faultconfig.py."
        ),
    ] = None,
) -> None:
    """Serve the ScanSource simulator standalone."""
    from syncer.sim import FaultConfig, SimConfig, Simulator

    try:
        faults = FaultConfig.parse(fault or [])
    except ValueError as exc:
        err.print(f"error: --fault: {exc}", highlight=False, markup=False)
        raise typer.Exit(ExitCode.CONFIG) from None
    simulator = Simulator(
        SimConfig(
            seed=seed,
            orders_per_account=orders,
            latency_ms=latency_ms,
            lifecycle_events_per_hour=events_per_hour,
            create_delay_seconds=create_delay,
            faults=faults,
        )
    )
    for s in simulator.config.subscriptions:
        out.print(
            f"subscription: client_id={s.client_id} client_secret={s.client_secret} "
            f"subscription_key={s.subscription_key} customers={','.join(s.customer_numbers)}"
        )
    out.print(
        f"API: http://{host}:{port}/scsc/salesorder/v1   token: http://{host}:{port}/sim/oauth2/v2.0/token"
    )
    if faults.active:
        out.print(f"faults: {faults}", highlight=False, soft_wrap=True)
    run_async(_serve(simulator, host, port))


async def _serve(simulator: Any, host: str, port: int) -> None:
    from syncer.sim import serve_forever

    try:
        await serve_forever(simulator, host, port)
    except OSError as exc:  # binding: the address is taken, or not this machine's
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None


@app.command(epilog=exit_codes.STATUS)
def status(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (one line), for scripts.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Per account: last run and outcome, lag since the last success, rows, open failures; and
    whether each configured account is failing or stale, as /readyz judges it."""
    from syncer.cli.status import collect_for, render

    report = run_async(collect_for(settings_for(config)))
    if as_json:
        typer.echo(json.dumps(report.as_json(), separators=(",", ":")))
    else:
        for table in render(report):
            out.print(table)
    for problem in report.failing:
        err.print(f"[red]error:[/red] {problem}", highlight=False)
    for problem in report.stale:
        err.print(f"warning: {problem}", highlight=False)
    raise typer.Exit(exit_codes.for_status(report.failing, report.stale))


@app.command(epilog=exit_codes.CHECK)
def check(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (one line), for scripts.")
    ] = False,
    account: Annotated[list[str] | None, typer.Option(help="Only these customer numbers.")] = None,
    config: ConfigOption = None,
) -> None:
    """Check, in one go and writing nothing, that a sync could run now: the configuration,
    the database (reachable, migrated), and per account a token, one list call of page size 1
    and its key's rate limit (no 429, no pause). The first thing to run with real credentials."""
    from syncer.cli.check import render, run_checks

    report = run_async(run_checks(settings_for(config), account or [], redactor()))
    if as_json:
        typer.echo(json.dumps(report.as_json(), separators=(",", ":")))
    else:
        out.print(render(report))
    raise typer.Exit(report.exit_code)


@config_app.command("show", epilog=exit_codes.PRINTED)
def config_show(
    config: ConfigOption = None,
    grouped: Annotated[
        bool,
        typer.Option(
            "--grouped", help="One object per group (database, api, sync, schedule, ...)."
        ),
    ] = False,
) -> None:
    """Print the effective configuration, secrets masked."""
    shown: Any = mask(settings_for(config))
    out.print_json(json.dumps(by_group(shown) if grouped else shown))


@config_app.command("reference", epilog=exit_codes.PRINTED)
def config_reference() -> None:
    """Print every setting as Markdown, by group: its environment variable, its config key,
    its default and what it does. Reads no configuration."""
    typer.echo(reference_markdown(), nl=False)


def main() -> None:
    app()
