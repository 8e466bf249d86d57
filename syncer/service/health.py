"""The service's HTTP endpoint: /healthz, /readyz and /metrics.

Readiness reads the last runs from `sync_runs`: that is also the check that the database
answers, and it sees runs made by an earlier process or by another instance (an instance that
found the account locked by another one skips, and records nothing). It also reads the service's
memory of its own last run of each account, for the run that could not record itself (the
database was unreachable): of the two, the run that finished later counts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.errors import ConfigError
from syncer.service.metrics import Metrics
from syncer.states import Outcome
from syncer.warehouse import ledger, loader
from syncer.warehouse.database import describe_db_error

# A readiness probe must answer quickly, whatever the database does.
PROBE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class AccountHealth:
    account: str
    last_outcome: str | None = None
    last_finished_at: datetime | None = None
    last_error: str | None = None
    last_success_at: datetime | None = None
    open_failures: int | None = None  # in `sync_failures` (None: not read)

    def as_dict(self) -> dict[str, Any]:
        return {
            "last_outcome": self.last_outcome,
            "last_finished_at": _iso(self.last_finished_at),
            "last_success_at": _iso(self.last_success_at),
            "last_error": self.last_error,
        }


def latest(recorded: AccountHealth, remembered: AccountHealth | None) -> AccountHealth:
    """The last run as `sync_runs` records it or as the service remembers it, whichever finished
    later; the later success of the two."""
    if remembered is None or remembered.last_finished_at is None:
        return recorded
    last = recorded
    if recorded.last_finished_at is None or remembered.last_finished_at > recorded.last_finished_at:
        last = remembered
    successes = [h.last_success_at for h in (recorded, remembered) if h.last_success_at]
    return replace(
        last, last_success_at=max(successes, default=None), open_failures=recorded.open_failures
    )


async def account_health(engine: AsyncEngine, accounts: Sequence[str]) -> dict[str, AccountHealth]:
    """Each account's last finished run and last success, from `sync_runs`."""
    async with loader.connection(engine) as con:
        runs = await ledger.last_finished(con, accounts)
    return {
        r.account: AccountHealth(
            r.account,
            r.outcome,
            r.finished_at,
            first_line(r.error),
            r.success_at,
            r.open_failures,
        )
        for r in runs
    }


def learn(metrics: Metrics, health: Iterable[AccountHealth]) -> None:
    """Tell the metrics what the database knows: the last run, the last success, the open
    failures of each account."""
    for h in health:
        metrics.last_success(h.account, h.last_success_at)
        metrics.last_run(h.account, h.last_finished_at)
        if h.open_failures is not None:
            metrics.open_failures.labels(h.account).set(h.open_failures)


def readiness_problems(
    health: Mapping[str, AccountHealth], *, now: datetime, stale_after: timedelta
) -> list[str]:
    """Why the service is not ready, one reason per account in trouble; empty when ready."""
    problems = []
    for account, h in health.items():
        if h.last_finished_at is None:
            problems.append(f"account {account}: no run has finished yet")
        elif h.last_outcome != Outcome.SUCCEEDED:
            reason = f": {h.last_error}" if h.last_error else ""
            problems.append(f"account {account}: last run {h.last_outcome}{reason}")
        elif now - h.last_finished_at > stale_after:
            age = int((now - h.last_finished_at).total_seconds())
            problems.append(
                f"account {account}: stale, last run finished {age} s ago "
                f"(allowed {int(stale_after.total_seconds())} s)"
            )
    return problems


@dataclass(frozen=True)
class Readiness:
    ready: bool
    problems: list[str]
    accounts: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "problems": self.problems, "accounts": self.accounts}


class ReadinessProbe:
    """Answers /readyz: database reachable, every account's last run succeeded and is recent.
    `remembered`: the service's own last run of each account (`latest`)."""

    def __init__(
        self,
        engine: AsyncEngine,
        accounts: Sequence[str],
        *,
        stale_after: timedelta,
        metrics: Metrics,
        clock: Callable[[], datetime],
        stopping: Callable[[], bool] = lambda: False,
        remembered: Mapping[str, AccountHealth] | None = None,
    ) -> None:
        self.engine = engine
        self.accounts = list(accounts)
        self.stale_after = stale_after
        self.metrics = metrics
        self.clock = clock
        self.stopping = stopping
        self.remembered = remembered if remembered is not None else {}

    async def check(self) -> Readiness:
        if self.stopping():
            return Readiness(False, ["shutting down"], {})
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                recorded = await account_health(self.engine, self.accounts)
        except TimeoutError:
            return self._unreachable("no answer in time")
        except Exception as exc:  # a probe answers whatever went wrong; the reason is in the body
            return self._unreachable(describe_db_error(exc))
        health = {a: latest(h, self.remembered.get(a)) for a, h in recorded.items()}
        learn(self.metrics, health.values())
        problems = readiness_problems(health, now=self.clock(), stale_after=self.stale_after)
        return Readiness(not problems, problems, {a: h.as_dict() for a, h in health.items()})

    def _unreachable(self, reason: str) -> Readiness:
        """Not ready; each account's last run as far as this process knows it."""
        known = {a: h.as_dict() for a, h in self.remembered.items() if a in self.accounts}
        return Readiness(False, [f"database unreachable: {reason}"], known)


def build_app(ready: Callable[[], Awaitable[Readiness]], metrics: Metrics) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "alive"})

    async def readyz(_: web.Request) -> web.Response:
        result = await ready()
        return web.json_response(result.as_dict(), status=200 if result.ready else 503)

    async def metrics_page(request: web.Request) -> web.Response:
        body, content_type = metrics.render(request.headers.get("Accept"))
        return web.Response(body=body, headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_page)
    return app


@contextlib.asynccontextmanager
async def serve(app: web.Application, host: str, port: int) -> AsyncIterator[int]:
    """Serve `app` until the block exits; yields the bound port (port 0 picks a free one)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise ConfigError(
                f"health endpoint: cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def first_line(text: str | None) -> str | None:
    if not text:
        return text
    return text.strip().splitlines()[0][:300] if text.strip() else None
