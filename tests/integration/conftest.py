"""Integration fixtures: the simulator over real HTTP on a fake clock, and syncs wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.api.auth import Credentials
from syncer.api.client import ScanSourceClient
from syncer.api.transport import Transport, make_session
from syncer.sim import FakeClock, SimConfig, Simulator, run_simulator
from syncer.sync.account import AccountSync
from syncer.sync.result import SyncOptions

START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


class SimHarness:
    """A running simulator plus what a test needs to sync against it."""

    def __init__(self, running: Any, session: aiohttp.ClientSession, engine: AsyncEngine) -> None:
        self.running = running
        self.sim: Simulator = running.sim
        self.clock: FakeClock = running.sim.clock
        self.session = session
        self.engine = engine
        sub = self.sim.config.subscriptions[0]
        self.customers: tuple[str, ...] = sub.customer_numbers
        self.credentials = Credentials(
            sub.client_id, SecretStr(sub.client_secret), SecretStr(sub.subscription_key)
        )
        self.client = self.make_client()

    def make_client(
        self, session: aiohttp.ClientSession | None = None, **kwargs: Any
    ) -> ScanSourceClient:
        options: dict[str, Any] = {
            "base_url": self.running.base_url,
            "token_url": self.running.token_url,
            "scope": self.running.scope,
            "credentials": self.credentials,
            "max_in_flight": 8,
            "backoff_base": 0.01,
            **kwargs,
        }
        transport = Transport(session or self.session, **options)
        return ScanSourceClient(transport)

    def account_sync(self, customer: str, **options: Any) -> AccountSync:
        opts = SyncOptions(**{"batch_size": 50, "concurrency": 8, **options})
        return AccountSync(self.engine, self.client, customer, opts, clock=self.clock.now)


@pytest_asyncio.fixture(loop_scope="session")
async def harness_factory(
    clean_engine: AsyncEngine,
) -> AsyncIterator[Callable[..., Any]]:
    """Call `await make(orders_per_account=..., **config)` to start a simulator for this test."""
    import contextlib

    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(make_session(concurrency=8))

        async def make(start: datetime = START, **config: Any) -> SimHarness:
            sim = Simulator(SimConfig(**config), clock=FakeClock(start))
            running = await stack.enter_async_context(run_simulator(sim))
            return SimHarness(running, session, clean_engine)

        yield make


@pytest_asyncio.fixture(loop_scope="session")
async def harness(harness_factory: Callable[..., Any]) -> SimHarness:
    h: SimHarness = await harness_factory(orders_per_account=120)
    return h
