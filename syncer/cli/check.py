"""`syncer check`: whether a sync could run now, in one go, without writing anything.

What is checked, in this order:
  config      the settings load (else the command stops before any check), accounts and a
              database are configured, and each account has its client id, secret and key;
  database    reachable within DATABASE_TIMEOUT_SECONDS, and at the migrations' head;
  token       per account, the token endpoint grants one for its credentials;
  list        per account, one list call of page size 1 is answered (the secret, the
              subscription key and the customer number all accepted);
  rate limit  per account, its key's quota is not exhausted: neither its token nor its list call
              was answered 429, and its key's limiter is not paused by an earlier 429. A check
              never waits out a 429: the first one fails it, with the server's Retry-After.
A check that cannot run because an earlier one failed is "not run"; it is not a failure itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, Literal

from rich.table import Table
from rich.text import Text

from syncer.api.auth import Credentials
from syncer.api.client import ScanSourceClient
from syncer.cli.exit_codes import ExitCode
from syncer.config.settings import Settings
from syncer.errors import ApiError, ConfigError, DatabaseError, RateLimited
from syncer.redact import Redactor
from syncer.service import options
from syncer.service.runner import select_accounts
from syncer.service.runtime import api_clients, credentials_for, open_session
from syncer.warehouse import database as db

DATABASE_TIMEOUT_SECONDS = 10.0
CONCURRENCY = 4  # the checks' HTTP connections: one account's calls at a time

Result = Literal["ok", "failed", "not run"]
STYLES = {"ok": "green", "failed": "red", "not run": "yellow"}


@dataclass(frozen=True)
class Check:
    account: str | None  # None: the whole configuration, the database
    name: Literal["config", "database", "token", "list", "rate limit"]
    result: Result
    detail: str


@dataclass(frozen=True)
class CheckReport:
    checks: list[Check]

    @property
    def exit_code(self) -> ExitCode:
        """2 when the configuration failed (fix that first), else 1 when anything failed."""
        failed = {c.name for c in self.checks if c.result == "failed"}
        if "config" in failed:
            return ExitCode.CONFIG
        return ExitCode.FAILED if failed else ExitCode.OK

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.exit_code == ExitCode.OK,
            "exit_code": int(self.exit_code),
            "checks": [
                {"account": c.account, "check": c.name, "result": c.result, "detail": c.detail}
                for c in self.checks
            ],
        }


async def run_checks(settings: Settings, only: list[str], redactor: Redactor) -> CheckReport:
    """Every check, for every configured account (or those in `only`)."""
    selected = select_accounts(settings, only)
    accounts = [a for a in settings.accounts if a.customer_number in selected]
    missing = [
        problem
        for problem, absent in (
            ("no accounts configured (set SYNCER_ACCOUNTS=<customer number>,...)", not accounts),
            ("no database configured (set SYNCER_DATABASE_URL)", not settings.database_url),
        )
        if absent
    ]
    checks = [
        Check(None, "config", "failed", "; ".join(missing))
        if missing
        else Check(None, "config", "ok", f"settings valid; {len(accounts)} account(s) checked"),
        await _database(settings),
    ]
    creds: dict[str, Credentials] = {}
    by_account: dict[str, list[Check]] = {}
    for account in accounts:
        number = account.customer_number
        try:
            creds[number] = credentials_for(settings, account)
        except ConfigError as exc:
            problem = str(exc).removeprefix(f"account {number}: ")
            by_account[number] = [
                Check(number, "config", "failed", problem),
                *_not_run(number, "no credentials"),
            ]
            continue
        detail = f"client id {creds[number].client_id}; secret and subscription key set"
        by_account[number] = [Check(number, "config", "ok", detail)]
    if creds:
        # A check reports a 429 at once rather than waiting it out (api_max_throttled).
        quick = replace(options.client_options(settings), max_throttled=0)
        session_options = replace(options.session_options(settings), concurrency=CONCURRENCY)
        async with open_session(session_options) as session:
            clients, _ = api_clients(quick, options.limits(settings), session, creds, redactor)
            # One account after another: a 429 for one pauses its key, and the next account
            # of that key reads the pause instead of waiting for it.
            for number in creds:
                by_account[number] += await _api(clients[number], number)
    for account in accounts:
        checks += by_account[account.customer_number]
    return CheckReport(checks)


def _not_run(number: str, why: str) -> list[Check]:
    return [Check(number, name, "not run", why) for name in ("token", "list", "rate limit")]


async def _database(settings: Settings) -> Check:
    if not settings.database_url:
        return Check(None, "database", "not run", "no database configured")
    pool = options.command_engine_options()
    engine = db.create_engine(
        settings.database_url, pool_size=pool.pool_size, max_overflow=pool.max_overflow
    )
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            await db.check_ready(engine)
    except TimeoutError:
        return Check(
            None,
            "database",
            "failed",
            f"database unreachable: no answer in {DATABASE_TIMEOUT_SECONDS:g} s",
        )
    except DatabaseError as exc:
        return Check(None, "database", "failed", str(exc))
    finally:
        await engine.dispose()
    head = db.head_revision()
    return Check(None, "database", "ok", f"reachable, at the migrations' head ({head})")


async def _api(client: ScanSourceClient, number: str) -> list[Check]:
    """token, list and rate limit for one account."""
    limiter = client.transport.limiter
    if limiter.paused_for > 0:
        why = f"its key is paused for {limiter.paused_for:.0f} s after a 429"
        return [
            Check(number, "token", "not run", why),
            Check(number, "list", "not run", why),
            Check(number, "rate limit", "failed", f"exhausted: {why}"),
        ]
    try:
        await client.transport.tokens.token()
    except RateLimited as exc:
        return [
            Check(number, "token", "failed", str(exc)),
            Check(number, "list", "not run", "no token"),
            Check(number, "rate limit", "failed", _exhausted(exc)),
        ]
    except ApiError as exc:
        return [
            Check(number, "token", "failed", str(exc)),
            Check(number, "list", "not run", "no token"),
            Check(number, "rate limit", "not run", "no token"),
        ]
    token = Check(number, "token", "ok", "granted")
    try:
        rows = await client.list_page(number, page=1, page_size=1)
    except RateLimited as exc:
        return [
            token,
            Check(number, "list", "failed", str(exc)),
            Check(number, "rate limit", "failed", _exhausted(exc)),
        ]
    except ApiError as exc:
        listed = Check(number, "list", "failed", str(exc))
    else:
        found = "an order" if rows else "no order yet"
        listed = Check(number, "list", "ok", f"answered (page size 1): {found}")
    quota = f"not exhausted: no 429; limiter at {limiter.rate:g} requests/s"
    return [token, listed, Check(number, "rate limit", "ok", quota)]


def _exhausted(exc: RateLimited) -> str:
    after = f", retry after {exc.retry_after:g} s" if exc.retry_after is not None else ""
    return f"exhausted: answered 429{after}"


def render(report: CheckReport) -> Table:
    table = Table(title="syncer check")
    for column in ("account", "check", "result", "detail"):
        table.add_column(column, no_wrap=column != "detail")
    for c in report.checks:
        # Text, not markup: a detail may quote a server's message, brackets and all.
        table.add_row(c.account or "", c.name, Text(c.result, STYLES[c.result]), Text(c.detail))
    failed = sum(c.result == "failed" for c in report.checks)
    table.caption = f"{failed} check(s) failed" if failed else "every check passed"
    return table
