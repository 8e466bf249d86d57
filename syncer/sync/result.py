"""What a run is asked to do (SyncOptions) and what it did (RunResult, its Counts)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from syncer.api.stats import ApiStats
from syncer.errors import SyncerError
from syncer.states import Outcome, RunKind
from syncer.sync.windows import Window
from syncer.warehouse import ledger
from syncer.warehouse.rows import OrderRows

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from syncer.api.client import ScanSourceClient
    from syncer.redact import Redactor

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class SyncOptions:
    batch_size: int = 200
    page_size: int = 1000
    lookback_days: int = 1
    timezone: str = "America/New_York"
    safety_margin_seconds: int = 120
    concurrency: int = 16
    writers: int = 2
    wait_for_lock: bool = False
    defer_foreign_keys: bool = True  # syncer.warehouse.foreign_keys
    # Runs in a row that find a failed order gone from the API before its failure is closed.
    gone_after_attempts: int = ledger.GONE_AFTER_ATTEMPTS
    large_detail_bytes: int = 4 * 2**20  # docs/decisions/0009-large-details-and-size-cap.md


@dataclass
class Counts:
    listed: int = 0
    fetched: int = 0
    skipped: int = 0
    loaded: int = 0
    unchanged: int = 0
    failed: int = 0
    rows: int = 0
    batches: int = 0  # batches written whole, one transaction each
    # Dates stored as NULL because their text was in no form we know, by field (its column).
    unreadable_dates: dict[str, int] = field(default_factory=dict)
    rows_by_table: dict[str, int] = field(default_factory=dict)  # `rows`, by table (metrics)

    def add_rows(self, orders: Sequence[OrderRows]) -> None:
        """Count the rows of orders just written."""
        for order in orders:
            self.rows += order.row_count()
            for table, n in order.rows_by_table():
                self.rows_by_table[table] = self.rows_by_table.get(table, 0) + n


@dataclass
class RunResult:
    account: str
    run_id: int | None
    outcome: Outcome
    kind: RunKind = RunKind.SYNC
    counts: Counts = field(default_factory=Counts)
    api: ApiStats = field(default_factory=ApiStats)
    seconds: float = 0.0
    error: str | None = None
    window: Window | None = None
    holder_pid: int | None = None  # skipped: the backend of the syncer holding the account


Progress = Callable[[RunResult], None]


def describe(exc: BaseException) -> str:
    """An error in one line for a run's result, a failure or a log line: ours as they are, any
    other with its class."""
    if isinstance(exc, SyncerError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


@dataclass(frozen=True)
class RunScope:
    """What every part of one account's run works with."""

    engine: AsyncEngine
    client: ScanSourceClient
    account: str
    options: SyncOptions
    redactor: Redactor
    clock: Clock
