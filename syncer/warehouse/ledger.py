"""The run ledger: every statement on `sync_runs`, `sync_state` and `sync_failures`.

The sync writes it (a run started and ended, the watermark advanced, failures recorded, cleared
or closed as gone); `syncer status` and the service's /readyz read it. All of them go through
here, so the tables' meaning lives in one place. Functions take an asyncpg connection
(`syncer.warehouse.loader.connection`) and commit as they go unless the caller holds a
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from syncer.redact import Redactor
from syncer.states import Outcome, Resolution, Stage
from syncer.warehouse import schema

S = schema.SCHEMA
RUNS = f"{S}.{schema.sync_runs.name}"
STATE = f"{S}.{schema.sync_state.name}"
FAILURES = f"{S}.{schema.sync_failures.name}"
STREAM = "sales_orders"  # the one stream whose watermark sync_state holds today

Connection = Any  # asyncpg.Connection

# -- runs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LastRun:
    id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    listed: int
    fetched: int
    loaded: int
    failed: int
    error: str | None


@dataclass(frozen=True)
class Finished:
    """An account's last finished run, when its last successful one finished, and how many of
    its failures are open."""

    account: str
    outcome: str | None
    finished_at: datetime | None
    error: str | None
    success_at: datetime | None
    open_failures: int


async def start_run(
    con: Connection,
    account: str,
    kind: str,
    started_at: datetime,
    window: tuple[date | None, date],
) -> int:
    """Record a run as running; its id. Called with the account's lock held, so a run still
    marked running died with its process: it is marked abandoned first."""
    await con.execute(
        f"UPDATE {RUNS} SET outcome = $2 WHERE account = $1 AND outcome = $3",
        account,
        Outcome.ABANDONED,
        Outcome.RUNNING,
    )
    run_id: int = await con.fetchval(
        f"INSERT INTO {RUNS} (account, kind, started_at, window_from, window_to) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
        account, kind, started_at, *window,
    )  # fmt: skip
    return run_id


async def end_run(
    con: Connection,
    run_id: int,
    *,
    finished_at: datetime,
    outcome: str,
    counts: Mapping[str, int],
    api_calls: Mapping[str, Any],
    throttled: int,
    error: str | None,
) -> None:
    """Record how a run ended; `counts`: listed, fetched, skipped, loaded, unchanged, failed."""
    await con.execute(
        f"UPDATE {RUNS} SET finished_at = $2, outcome = $3, listed = $4, fetched = $5, "
        "skipped = $6, loaded = $7, unchanged = $8, failed = $9, api_calls = $10::jsonb, "
        "throttled = $11, error = $12 WHERE id = $1",
        run_id, finished_at, outcome, counts["listed"], counts["fetched"], counts["skipped"],
        counts["loaded"], counts["unchanged"], counts["failed"], orjson.dumps(api_calls).decode(),
        throttled, error,
    )  # fmt: skip


_LAST_RUNS = f"""
SELECT DISTINCT ON (account) account, id, kind, started_at, finished_at, outcome,
       listed, fetched, loaded, failed, error
FROM {RUNS}
ORDER BY account, started_at DESC, id DESC
"""
_LAST_SUCCESS = f"""
SELECT account, max(finished_at) FROM {RUNS} WHERE outcome = '{Outcome.SUCCEEDED}' GROUP BY account
"""
_LAST_FINISHED = f"""
SELECT a.account, last.outcome, last.finished_at, last.error, ok.finished_at, failures.n
FROM unnest($1::text[]) AS a(account)
LEFT JOIN LATERAL (
    SELECT r.outcome, r.finished_at, r.error FROM {RUNS} r
    WHERE r.account = a.account AND r.finished_at IS NOT NULL
    ORDER BY r.started_at DESC LIMIT 1
) last ON true
LEFT JOIN LATERAL (
    SELECT r.finished_at FROM {RUNS} r
    WHERE r.account = a.account AND r.outcome = '{Outcome.SUCCEEDED}'
    ORDER BY r.started_at DESC LIMIT 1
) ok ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS n FROM {FAILURES} f
    WHERE f.account = a.account AND f.resolution IS NULL
) failures ON true
"""


async def last_runs(con: Connection) -> dict[str, LastRun]:
    """Every account's latest run, finished or not."""
    return {
        r["account"]: LastRun(**{k: v for k, v in r.items() if k != "account"})
        for r in await con.fetch(_LAST_RUNS)
    }


async def last_successes(con: Connection) -> dict[str, datetime]:
    """When each account's latest successful run finished."""
    return dict(await con.fetch(_LAST_SUCCESS))


async def last_finished(con: Connection, accounts: Sequence[str]) -> list[Finished]:
    """Each of `accounts`' last finished run and last success (None where there is none), and
    its open failures."""
    rows = await con.fetch(_LAST_FINISHED, list(accounts))
    return [Finished(*r) for r in rows]


# -- the watermark ---------------------------------------------------------------------------


async def watermark(con: Connection, account: str, stream: str = STREAM) -> datetime | None:
    """Where the account's last complete sync started (None: it has had none)."""
    mark: datetime | None = await con.fetchval(
        f"SELECT watermark FROM {STATE} WHERE account = $1 AND stream = $2", account, stream
    )
    return mark


async def advance(con: Connection, account: str, mark: datetime, stream: str = STREAM) -> None:
    await con.execute(
        f"INSERT INTO {STATE} (account, stream, watermark) VALUES ($1, $2, $3) "
        "ON CONFLICT (account, stream) DO UPDATE SET watermark = excluded.watermark, "
        "updated_at = now()",
        account, stream, mark,
    )  # fmt: skip


async def watermarks(con: Connection) -> dict[str, dict[str, datetime]]:
    """Every account's watermarks, by stream."""
    marks: dict[str, dict[str, datetime]] = {}
    for account, stream, mark in await con.fetch(f"SELECT account, stream, watermark FROM {STATE}"):
        marks.setdefault(account, {})[stream] = mark
    return marks


# -- failures --------------------------------------------------------------------------------

GONE_AFTER_ATTEMPTS = 3  # the sync_gone_after_attempts setting's default


@dataclass(frozen=True, slots=True)
class Failure:
    sales_order_number: str
    stage: Stage
    reason: str
    payload: str | None = None
    gone: bool = False  # the API no longer has the order: its detail is 404, or no search finds it


# A failure that finds the order gone ($6 = 1) counts one more run in a row that did, and leaves
# a closed failure closed; any other failure starts the count again, and reopens it.
_RECORD_FAILURE = f"""
INSERT INTO {FAILURES} AS f
    (account, sales_order_number, stage, reason, payload, gone_attempts)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (account, sales_order_number) DO UPDATE SET
    stage = excluded.stage, reason = excluded.reason, payload = excluded.payload,
    attempts = f.attempts + 1, last_failed_at = now(),
    gone_attempts = CASE WHEN excluded.gone_attempts > 0 THEN f.gone_attempts + 1 ELSE 0 END,
    resolution = CASE WHEN excluded.gone_attempts > 0 THEN f.resolution END,
    resolved_at = CASE WHEN excluded.gone_attempts > 0 THEN f.resolved_at END
"""
_CLOSE_GONE = f"""
UPDATE {FAILURES} SET resolution = '{Resolution.GONE}', resolved_at = now()
WHERE account = $1 AND sales_order_number = ANY($2::text[]) AND resolution IS NULL
  AND gone_attempts >= $3
RETURNING sales_order_number
"""
_OPEN_FAILURES = f"""
SELECT account, count(*), min(first_failed_at) FROM {FAILURES}
WHERE resolution IS NULL GROUP BY account
"""


def cleared(keys: str) -> str:
    """A CTE, `cleared`, deleting the failures of the orders in `keys`: an expression naming
    rows `k(customer_number, sales_order_number)`. The loader clears a batch's failures with it
    in the statement that finds which of its orders the warehouse holds."""
    return (
        f"cleared AS (DELETE FROM {FAILURES} f USING {keys} "
        "WHERE f.account = k.customer_number AND f.sales_order_number = k.sales_order_number)"
    )


async def record_failures(
    con: Connection,
    account: str,
    failures: Sequence[Failure],
    redactor: Redactor,
    *,
    gone_after: int = GONE_AFTER_ATTEMPTS,
) -> list[str]:
    """Record each failure, its reason and payload masked (they may quote the API's answer);
    return the orders whose failure this closed as gone, found gone by `gone_after` runs in a
    row (runs retry open failures only)."""
    if not failures:
        return []
    await con.executemany(
        _RECORD_FAILURE,
        [
            (account, f.sales_order_number, f.stage, _clean(f.reason, redactor),
             _clean(f.payload, redactor), int(f.gone))
            for f in failures
        ],
    )  # fmt: skip
    gone = [f.sales_order_number for f in failures if f.gone]
    if not gone:
        return []
    return [r[0] for r in await con.fetch(_CLOSE_GONE, account, gone, gone_after)]


def _clean(text: str | None, redactor: Redactor, limit: int = 1_000_000) -> str | None:
    """Masked before it is cut (a cut secret is no longer recognised); Postgres text holds no
    NUL, and a failure row should not be a megabyte of noise."""
    return None if text is None else redactor(text.replace("\x00", ""))[:limit]


async def clear_failures(con: Connection, account: str, order_numbers: Sequence[str]) -> None:
    await con.execute(
        f"DELETE FROM {FAILURES} WHERE account = $1 AND sales_order_number = ANY($2::text[])",
        account,
        list(order_numbers),
    )


async def failed_orders(con: Connection, account: str) -> list[str]:
    """The account's open failures: the orders a run tries again."""
    rows = await con.fetch(
        f"SELECT sales_order_number FROM {FAILURES} "
        "WHERE account = $1 AND resolution IS NULL ORDER BY sales_order_number",
        account,
    )
    return [r[0] for r in rows]


async def open_failures(con: Connection) -> dict[str, tuple[int, datetime]]:
    """Per account with open failures: how many, and when the oldest first failed."""
    return {r[0]: (r[1], r[2]) for r in await con.fetch(_OPEN_FAILURES)}
