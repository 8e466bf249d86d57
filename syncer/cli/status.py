"""`syncer status`: per account, the last run and its outcome, the lag since the last successful
run, rows per table and open failures — read from the warehouse alone (no API, no credentials).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.config.settings import Settings
from syncer.service import health
from syncer.states import Outcome
from syncer.warehouse import ledger, loader, schema
from syncer.warehouse.ledger import LastRun

S = schema.SCHEMA

# Tables holding rows per account (customer_number), in the order a reader expects them.
COUNTED: tuple[str, ...] = (
    *(t.name for t in schema.DATA_TABLES),
    schema.sales_order_status_history.name,
)

_ROWS = " UNION ALL ".join(
    f"SELECT '{name}', customer_number, count(*) FROM {S}.{name} GROUP BY customer_number"
    for name in COUNTED
)


@dataclass(frozen=True)
class AccountStatus:
    account: str
    configured: bool
    last_run: LastRun | None
    last_success_at: datetime | None  # when the latest successful run finished
    lag_seconds: float | None  # as_of - last_success_at
    watermarks: dict[str, datetime] = field(default_factory=dict)  # by stream
    rows: dict[str, int] = field(default_factory=dict)  # by table, every table in COUNTED
    open_failures: int = 0
    oldest_failure_at: datetime | None = None


@dataclass(frozen=True)
class StatusReport:
    as_of: datetime  # the database's clock
    accounts: list[AccountStatus]
    # /readyz's reasons, for the configured accounts: a last run failed or none has finished;
    # a last run succeeded, but too long ago.
    failing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = _jsonable(asdict(self))
        return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


async def collect(engine: AsyncEngine, configured: Sequence[str] = ()) -> StatusReport:
    """The status of every configured account and of every account the warehouse knows."""
    async with (
        loader.connection(engine) as con,
        con.transaction(isolation="repeatable_read", readonly=True),
    ):
        # One snapshot: counts, runs and failures agree with each other.
        as_of = await con.fetchval("SELECT now()")
        runs = await ledger.last_runs(con)
        success = await ledger.last_successes(con)
        marks = await ledger.watermarks(con)
        failures = await ledger.open_failures(con)
        rows: dict[str, dict[str, int]] = {}
        for table, account, n in await con.fetch(_ROWS):
            rows.setdefault(account, {})[table] = n
    known = set(runs) | set(marks) | set(failures) | set(rows)
    accounts = list(dict.fromkeys([*configured, *sorted(known)]))
    out = []
    for account in accounts:
        last_success = success.get(account)
        n_failures, oldest = failures.get(account, (0, None))
        out.append(
            AccountStatus(
                account=account,
                configured=account in configured,
                last_run=runs.get(account),
                last_success_at=last_success,
                lag_seconds=(as_of - last_success).total_seconds() if last_success else None,
                watermarks=marks.get(account, {}),
                rows={t: rows.get(account, {}).get(t, 0) for t in COUNTED},
                open_failures=n_failures,
                oldest_failure_at=oldest,
            )
        )
    return StatusReport(as_of=as_of, accounts=out)


async def collect_for(settings: Settings) -> StatusReport:
    """Open the configured database, check it is migrated, collect, and judge each configured
    account as the service's /readyz does."""
    from syncer.service import options
    from syncer.service.runtime import warehouse_engine

    configured = [a.customer_number for a in settings.accounts]
    async with warehouse_engine(settings) as engine:
        report = await collect(engine, configured)
        accounts = await health.account_health(engine, configured)
    failing: list[str] = []
    stale: list[str] = []
    allowed = options.health_options(settings).stale_after
    for account, h in accounts.items():
        problems = health.readiness_problems({account: h}, now=report.as_of, stale_after=allowed)
        # The rule's only complaint about a run that succeeded is its age.
        (stale if h.last_outcome == Outcome.SUCCEEDED else failing).extend(problems)
    return replace(report, failing=failing, stale=stale)


def duration(seconds: float | None) -> str:
    """'45s', '12m 5s', '3h 4m', '2d 3h'; '-' when unknown."""
    if seconds is None:
        return "-"
    s = max(0, round(seconds))
    days, s = divmod(s, 86_400)
    hours, s = divmod(s, 3_600)
    minutes, s = divmod(s, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {s}s" if minutes else f"{s}s"


def _when(t: datetime | None) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if t else "-"


def render(report: StatusReport) -> list[Table]:
    """Two tables: runs per account (errors in the caption), then rows per table per account."""
    notes = []
    runs = Table(title=f"Sync status at {_when(report.as_of)} UTC")
    for col in ("account", "last run", "outcome", "took", "lag", "failures"):
        runs.add_column(col, justify="right" if col in ("took", "lag", "failures") else "left")
    for a in report.accounts:
        r = a.last_run
        took = (r.finished_at - r.started_at).total_seconds() if r and r.finished_at else None
        if not a.configured:
            notes.append(f"{a.account}*: in the warehouse but not configured")
        if r and r.error:
            notes.append(f"{a.account}: {r.error[:200]}")
        runs.add_row(
            a.account if a.configured else f"{a.account}*",
            _when(r.started_at if r else None),
            r.outcome if r else "never run",
            duration(took),
            duration(a.lag_seconds),
            str(a.open_failures),
        )
    runs.caption = "\n".join(notes) or None
    rows = Table(title="Rows per table")
    rows.add_column("table", no_wrap=True)
    for a in report.accounts:
        rows.add_column(a.account, justify="right")
    for table in COUNTED:
        rows.add_row(table, *(f"{a.rows[table]:,}" for a in report.accounts))
    return [runs, rows]
