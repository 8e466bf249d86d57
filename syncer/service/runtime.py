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
from syncer.api.transport import make_session
from syncer.collector import fewer_collections
from syncer.config.accounts import Account
from syncer.config.masking import secret_values
from syncer.config.settings import Settings
from syncer.errors import ConfigError
from syncer.redact import Redactor
from syncer.service import options
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
        return options.sync_options(self.settings)

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
    pool = options.command_engine_options()
    async with database_url(settings) as url:
        engine = create_engine(url, pool_size=pool.pool_size, max_overflow=pool.max_overflow)
        try:
            if ready:
                await check_ready(engine)
            yield engine
        finally:
            await engine.dispose()


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
        pool = options.engine_options(settings)
        engine = create_engine(url, pool_size=pool.pool_size, max_overflow=pool.max_overflow)
        stack.push_async_callback(engine.dispose)
        session = open_session(options.session_options(settings, keys=len(keys)))
        stack.push_async_callback(session.close)
        runtime = Runtime(settings, engine, session, redactor)
        runtime.clients, runtime.limiters = api_clients(
            options.client_options(settings), options.limits(settings), session, creds, redactor
        )
        yield runtime


def open_session(opts: options.SessionOptions) -> aiohttp.ClientSession:
    return make_session(concurrency=opts.concurrency, verify_tls=opts.verify_tls)


def api_clients(
    client_options: options.ClientOptions,
    limits: Limits,
    session: aiohttp.ClientSession,
    creds: Mapping[str, Credentials],
    redactor: Redactor,
) -> tuple[dict[str, ScanSourceClient], list[RateLimiter]]:
    """A client for each account (by customer number), and the limiters, one per key
    (`client_options` and `limits`: see syncer.service.options)."""
    clients: dict[str, ScanSourceClient] = {}
    limiters: dict[str, RateLimiter] = {}
    shared: dict[Credentials, ScanSourceClient] = {}
    for number, cred in creds.items():
        # The quota belongs to the subscription key: every client of a key, whatever its
        # client id, takes its turn at the same limiter.
        key = cred.subscription_key.get_secret_value()
        if key not in limiters:
            limiters[key] = RateLimiter(limits)
        # Accounts sharing credentials share one client: one token, one set of stats.
        if cred not in shared:
            shared[cred] = client_options.client(
                session, cred, limiter=limiters[key], redactor=redactor
            )
        clients[number] = shared[cred]
    return clients, list(limiters.values())
