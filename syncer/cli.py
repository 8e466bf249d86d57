"""The `syncer` command. The only place that configures logging and turns errors into exit codes."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from syncer import __version__
from syncer.config import Settings, load_settings, mask
from syncer.errors import SyncerError
from syncer.redact import Redactor, install

T = TypeVar("T")

app = typer.Typer(
    help="Keep a PostgreSQL warehouse in step with the ScanSource Sales Order API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")

out = Console()
err = Console(stderr=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file (else SYNCER_CONFIG_FILE).")
]


def _setup_logging(verbose: bool) -> Redactor:
    """Our own logs at INFO (DEBUG with -v); libraries (alembic, pgserver, aiohttp) only warn.
    Every handler masks the secrets the returned Redactor learns (settings, then tokens)."""
    logging.basicConfig(
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("syncer").setLevel(logging.DEBUG if verbose else logging.INFO)
    redactor = Redactor()
    install(redactor)
    return redactor


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine; a SyncerError becomes one readable line and exit code 1."""
    try:
        return asyncio.run(coro)
    except SyncerError as exc:
        coro.close()
        err.print(f"[red]error:[/red] {exc}", highlight=False, markup=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except SyncerError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


@app.callback()
def main_options(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    ctx.obj = _setup_logging(verbose)


def _redactor(ctx: typer.Context) -> Redactor:
    return ctx.obj if isinstance(ctx.obj, Redactor) else Redactor()


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


@app.command()
def demo(
    ctx: typer.Context,
    orders: Annotated[int, typer.Option(help="Simulated orders per account (3 accounts).")] = 1000,
    data_dir: Annotated[
        Path, typer.Option(help="Where the embedded Postgres keeps its data.")
    ] = Path(".syncer/pgdata"),
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 42,
    config: ConfigOption = None,
) -> None:
    """Simulator + Postgres (SYNCER_DATABASE_URL or embedded) + migrations + one full sync."""
    from syncer.demo import run_demo

    settings = _settings(config)
    where = settings.database_url or f"an embedded Postgres in {data_dir}"
    out.print(f"Simulating {orders} orders × 3 accounts; loading into {where} …")
    report = _run(
        run_demo(
            orders_per_account=orders,
            database_url=settings.database_url,
            embedded_dir=data_dir,
            seed=seed,
            redactor=_redactor(ctx),
        )
    )
    runs = Table(title="Sync runs")
    for col in ("account", "outcome", "listed", "fetched", "loaded", "failed", "rows", "seconds"):
        runs.add_column(col, justify="left" if col in ("account", "outcome") else "right")
    for r in report.results:
        c = r.counts
        runs.add_row(r.account, r.outcome, *(str(v) for v in (c.listed, c.fetched, c.loaded,
                     c.failed, c.rows)), f"{r.seconds:.2f}")  # fmt: skip
    out.print(runs)
    tables = Table(title=f"Warehouse: {report.database}")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, n in report.table_rows.items():
        tables.add_row(name, f"{n:,}")
    out.print(tables)
    orders_loaded = report.table_rows.get("sales_orders", 0)
    total_rows = sum(report.table_rows.values())
    out.print(
        f"Synced {orders_loaded:,} orders ({total_rows:,} rows) in {report.seconds:.1f} s "
        f"({orders_loaded / max(report.seconds, 1e-9):,.0f} orders/s)."
    )
    bo = Table(title="Open backorders by currency (a BI query on the warehouse)")
    for col in ("currency", "orders", "units", "value"):
        bo.add_column(col, justify="left" if col == "currency" else "right")
    for cur, n, units, value in report.backorders:
        bo.add_row(str(cur), f"{n:,}", f"{units:,.0f}", f"{value:,.2f}")
    out.print(bo)
    if any(r.outcome != "succeeded" for r in report.results):
        raise typer.Exit(1)


@app.command()
def sync(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Run one sync of every account and exit.")
    ] = False,
    account: Annotated[list[str] | None, typer.Option(help="Only these customer numbers.")] = None,
    config: ConfigOption = None,
) -> None:
    """Sync every configured account once (`syncer run` is the scheduled service)."""
    if not once:
        err.print(
            "error: use `syncer sync --once` for a single run, or `syncer run` for the service"
        )
        raise typer.Exit(2)
    settings = _settings(config)
    results = _run(_sync_once(settings, account or [], _redactor(ctx)))
    for r in results:
        out.print_json(json.dumps(r))
    if any(r["outcome"] == "failed" for r in results):
        raise typer.Exit(1)


async def _sync_once(
    settings: Settings, only: list[str], redactor: Redactor
) -> list[dict[str, Any]]:
    from syncer import db
    from syncer.runtime import open_runtime
    from syncer.sync import result_summary

    async with open_runtime(settings, redactor=redactor) as rt:
        await db.check_ready(rt.engine)
        numbers = [a.customer_number for a in settings.accounts]
        if only:
            unknown = sorted(set(only) - set(numbers))
            if unknown:
                raise SyncerError(f"not a configured account: {', '.join(unknown)}")
            numbers = [n for n in numbers if n in only]
        results = await asyncio.gather(
            *(rt.account_sync(n).run() for n in numbers), return_exceptions=True
        )
    summaries = []
    for number, r in zip(numbers, results, strict=True):
        if isinstance(r, BaseException):
            if not isinstance(r, SyncerError | OSError):
                raise r
            summaries.append({"account": number, "outcome": "failed", "error": redactor(str(r))})
        else:
            summaries.append(result_summary(r))
    return summaries


@app.command()
def sim(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    orders: Annotated[int, typer.Option(help="Orders per account.")] = 1000,
    seed: Annotated[int, typer.Option(help="Data seed.")] = 42,
    latency_ms: Annotated[float, typer.Option(help="Added latency per API call.")] = 0.0,
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
    from syncer.sim import FaultConfig, SimConfig, Simulator, serve_forever

    try:
        faults = FaultConfig.parse(fault or [])
    except ValueError as exc:
        err.print(f"error: --fault: {exc}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    simulator = Simulator(
        SimConfig(seed=seed, orders_per_account=orders, latency_ms=latency_ms, faults=faults)
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
    _run(serve_forever(simulator, host, port))


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    config: ConfigOption = None,
) -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = _settings(config)
    _run(_db(settings, "upgrade", revision))
    out.print(f"database upgraded to {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base.")],
    config: ConfigOption = None,
) -> None:
    """Revert migrations down to REVISION."""
    settings = _settings(config)
    _run(_db(settings, "downgrade", revision))
    out.print(f"database downgraded to {revision}")


@db_app.command("current")
def db_current(config: ConfigOption = None) -> None:
    """Print the database's migration revision and the code's head."""
    settings = _settings(config)
    out.print(_run(_db(settings, "current", "")))


async def _db(settings: Settings, action: str, revision: str) -> str:
    from syncer import db
    from syncer.runtime import database_url

    async with database_url(settings) as url:
        engine = db.create_engine(url, pool_size=1)
        try:
            await _reachable(engine)
            if action == "upgrade":
                await db.upgrade(engine, revision)
            elif action == "downgrade":
                await db.downgrade(engine, revision)
            else:
                current = await db.current_revision(engine)
                return f"database: {current or 'none'}  head: {db.head_revision()}"
        finally:
            await engine.dispose()
    return ""


async def _reachable(engine: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from syncer.db import describe_db_error
    from syncer.errors import DatabaseError

    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OSError, DBAPIError) as exc:
        raise DatabaseError(f"database unreachable: {describe_db_error(exc)}") from None


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print the effective configuration, secrets masked."""
    out.print_json(json.dumps(mask(_settings(config))))


def main() -> None:
    app()
