"""Running several accounts: each independently, one account's failure never stopping another."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

from syncer.config.settings import Settings
from syncer.errors import ConfigError, SyncerError
from syncer.service.runtime import Runtime
from syncer.states import Outcome, RunKind
from syncer.sync.result import Progress, RunResult
from syncer.sync.windows import Window


def summary(result: RunResult) -> dict[str, Any]:
    """A run as plain data (CLI output, logs)."""
    return {
        "account": result.account,
        "run_id": result.run_id,
        "kind": result.kind,
        "outcome": result.outcome,
        "window": [d.isoformat() if d else None for d in result.window] if result.window else None,
        **asdict(result.counts),
        "api_calls": result.api.as_dict(),
        "throttled": result.api.throttled,
        "seconds": round(result.seconds, 3),
        "error": result.error,
        **({"holder_pid": result.holder_pid} if result.outcome == Outcome.SKIPPED else {}),
    }


async def sync_accounts(
    rt: Runtime,
    numbers: list[str],
    *,
    window: Window | None = None,
    kind: RunKind = RunKind.SYNC,
    force: bool = False,
    progress: Progress | None = None,
    chunk_days: int = 7,
) -> list[dict[str, Any]]:
    """Run every account concurrently; return one summary per account, failures included.

    Each account's access is tried first (a token, then a one-row list page: the secret, the
    subscription key and the customer number) before anything is written, so a refused
    credential or an unreachable API fails that account with one line and leaves no trace in the
    database. (The service records such failures as runs, for its readiness and status.)"""

    async def one(number: str) -> dict[str, Any]:
        sync = rt.account_sync(number, progress=progress)
        try:
            await rt.clients[number].list_page(number, page=1, page_size=1)
            result = await sync.run(window=window, kind=kind, force=force, chunk_days=chunk_days)
            return summary(result)
        except SyncerError as exc:
            return {"account": number, "kind": kind, "outcome": Outcome.FAILED, "error": str(exc)}

    return list(await asyncio.gather(*(one(n) for n in numbers)))


def select_accounts(settings: Settings, only: list[str]) -> list[str]:
    """The configured customer numbers, or those of them in `only` (each must be one)."""
    numbers = [a.customer_number for a in settings.accounts]
    unknown = sorted(set(only) - set(numbers))
    if unknown:
        raise ConfigError(f"not a configured account: {', '.join(unknown)}")
    return [n for n in numbers if n in only] if only else numbers
