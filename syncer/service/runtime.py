"""Builds the process's resources from settings and closes them: one engine, one HTTP session,
one client per set of credentials, one rate limiter per subscription key (shared by every client
using that key), one Redactor that knows every secret. Whoever opens a resource here also closes
it here."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.api.auth import Credentials
from syncer.api.client import ScanSourceClient
from syncer.api.ratelimit import Limits, RateLimiter
from syncer.api.transport import Transport, make_session
from syncer.collector import fewer_collections
from syncer.config.settings import Account, Settings, secret_values
from syncer.errors import ConfigError
from syncer.redact import Redactor
from syncer.sync.account import AccountSync
from syncer.sync.result import Progress, SyncOptions
from syncer.warehouse.database import check_ready, create_engine, embedded_postgres


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    session: aiohttp.ClientSession
    redactor: Redactor = field(default_factory=Redactor)
    clients: dict[str, ScanSourceClient] = field(default_factory=dict)  # by customer number
    limiters: list[RateLimiter] = field(default_factory=list)  # one per subscription key

    def options(self) -> SyncOptions:
        s = self.settings
        return SyncOptions(
            batch_size=s.sync_batch_size,
            page_size=s.sync_page_size,
            lookback_days=s.sync_lookback_days,
            timezone=s.sync_timezone,
            safety_margin_seconds=s.sync_safety_margin_seconds,
            concurrency=s.api_concurrency,
            writers=s.sync_writers,
            wait_for_lock=s.sync_lock_wait,
            defer_foreign_keys=s.sync_defer_foreign_keys,
            gone_after_attempts=s.sync_gone_after_attempts,
        )

    def account_sync(self, customer_number: str, progress: Progress | None = None) -> AccountSync:
        return AccountSync(
            self.engine,
            self.clients[customer_number],
            customer_number,
            self.options(),
            progress=progress,
            redactor=self.redactor,
        )


def credentials_for(settings: Settings, account: Account) -> Credentials:
    client_id = account.client_id or settings.api_client_id
    secret = account.client_secret or settings.api_client_secret
    key = account.subscription_key or settings.api_subscription_key
    missing = [
        name
        for name, value in (
            ("client_id", client_id),
            ("client_secret", secret.get_secret_value()),
            ("subscription_key", key.get_secret_value()),
        )
        if not value
    ]
    if missing:
        raise ConfigError(
            f"account {account.customer_number}: no {', '.join(missing)} "
            "(set SYNCER_API_CLIENT_ID, SYNCER_API_CLIENT_SECRET, SYNCER_API_SUBSCRIPTION_KEY)"
        )
    return Credentials(client_id, SecretStr(secret.get_secret_value()), key)


@contextlib.asynccontextmanager
async def database_url(settings: Settings, *, embedded: bool = False) -> AsyncIterator[str]:
    """The configured database. With none configured: with `embedded` (`syncer demo`), a
    Postgres of our own kept in settings.embedded_db_dir; otherwise a ConfigError, since a
    command quietly creating a database of its own would hide the missing setting."""
    if settings.database_url:
        yield settings.database_url
        return
    if not embedded:
        raise ConfigError("no database configured (set SYNCER_DATABASE_URL)")
    with embedded_postgres(Path(settings.embedded_db_dir)) as url:
        yield url


@contextlib.asynccontextmanager
async def warehouse_engine(settings: Settings, *, ready: bool = True) -> AsyncIterator[AsyncEngine]:
    """A one-connection engine on the configured database, for a command's few statements;
    with `ready`, checked to be reachable and at the migrations' head first."""
    async with database_url(settings) as url:
        engine = create_engine(url, pool_size=1)
        try:
            if ready:
                await check_ready(engine)
            yield engine
        finally:
            await engine.dispose()


def limits_from(settings: Settings) -> Limits:
    return Limits(
        rate=settings.api_rate_limit_per_second,
        burst=settings.api_rate_burst,
        max_in_flight=settings.api_max_in_flight,
        decrease=settings.api_rate_decrease,
        recovery_seconds=settings.api_rate_recovery_seconds,
        default_retry_after=settings.api_retry_after_default_seconds,
        max_retry_after=settings.api_retry_after_max_seconds,
    )


def pool_overflow(settings: Settings) -> int:
    """Connections the pool may open beyond db_pool_size: enough for every account's run at
    once. Accounts sync at the same time, and a run holds up to sync_writers + 3 (its lock's for
    the whole run, a second one for the account's row lock while a reader holds its advisory
    lock, its writers', one to look up a list page), plus one for the service's readiness
    check. A pool smaller than that would not just slow writers down: once the runs'
    lock connections alone filled it, every run would wait for a connection until the pool's
    timeout, and fail."""
    needed = len(settings.accounts) * (settings.sync_writers + 3) + 1
    return max(settings.db_pool_size, needed - settings.db_pool_size)


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    need_accounts: bool = True,
    redactor: Redactor | None = None,
    embedded_db: bool = False,
) -> AsyncIterator[Runtime]:
    """`redactor`: the one the process's log handler masks with (cli installs it); the runtime
    registers every secret of the settings in it (the database password too), the transports
    every token they mint. The runs mask what they store with it. `embedded_db`: see
    `database_url`."""
    if need_accounts and not settings.accounts:
        raise ConfigError("no accounts configured (set SYNCER_ACCOUNTS=<customer number>,...)")
    # Validate every account's credentials before opening anything.
    creds = {a.customer_number: credentials_for(settings, a) for a in settings.accounts}
    redactor = redactor if redactor is not None else Redactor()
    for secret in secret_values(settings):
        redactor.add(secret)
    for cred in creds.values():  # every API request carries it: a body echoing it is refused
        redactor.add(cred.subscription_key.get_secret_value(), sent=True)
    keys = {c.subscription_key.get_secret_value() for c in creds.values()}
    async with contextlib.AsyncExitStack() as stack:
        stack.enter_context(fewer_collections())
        url = await stack.enter_async_context(database_url(settings, embedded=embedded_db))
        engine = create_engine(url, pool_size=settings.db_pool_size,
                               max_overflow=pool_overflow(settings))  # fmt: skip
        stack.push_async_callback(engine.dispose)
        # Enough pooled connections for every key's requests in flight: a call waiting for a
        # connection would spend its timeout in our own queue.
        session = make_session(
            concurrency=max(settings.api_concurrency, settings.api_max_in_flight * len(keys)),
            verify_tls=settings.api_verify_tls,
        )
        stack.push_async_callback(session.close)
        runtime = Runtime(settings, engine, session, redactor)
        runtime.clients, runtime.limiters = api_clients(settings, session, creds, redactor)
        yield runtime


def api_clients(
    settings: Settings,
    session: aiohttp.ClientSession,
    creds: Mapping[str, Credentials],
    redactor: Redactor,
) -> tuple[dict[str, ScanSourceClient], list[RateLimiter]]:
    """A client for each account (by customer number), and the limiters, one per key."""
    clients: dict[str, ScanSourceClient] = {}
    limiters: dict[str, RateLimiter] = {}
    shared: dict[Credentials, ScanSourceClient] = {}
    for number, cred in creds.items():
        # The quota belongs to the subscription key: every client of a key, whatever its
        # client id, takes its turn at the same limiter.
        key = cred.subscription_key.get_secret_value()
        if key not in limiters:
            limiters[key] = RateLimiter(limits_from(settings))
        # Accounts sharing credentials share one client: one token, one set of stats.
        if cred not in shared:
            transport = Transport(
                session,
                base_url=settings.api_base_url,
                token_url=settings.api_token_url,
                scope=settings.api_scope,
                credentials=cred,
                timeout_seconds=settings.api_timeout_seconds,
                max_attempts=settings.api_max_attempts,
                max_throttled=settings.api_max_throttled,
                backoff_base=settings.api_backoff_base_seconds,
                backoff_cap=settings.api_backoff_cap_seconds,
                token_leeway_seconds=settings.api_token_leeway_seconds,
                token_refreshes_per_call=settings.api_token_refreshes_per_call,
                token_refreshes_per_run=settings.api_token_refreshes_per_run,
                call_deadline_seconds=settings.api_call_deadline_seconds,
                max_response_bytes=settings.api_max_response_bytes,
                limiter=limiters[key],
                redactor=redactor,
            )
            shared[cred] = ScanSourceClient(transport, max_pages=settings.api_max_pages)
        clients[number] = shared[cred]
    return clients, list(limiters.values())
