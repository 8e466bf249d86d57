"""What the service tests share: a simulator on a frozen clock, settings and environments
pointing at it, and a warehouse-vs-truth comparison for a subset of orders."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.config.accounts import Account
from syncer.config.settings import Settings
from syncer.sim import FakeClock, RunningSim, SimConfig, Simulator, run_simulator
from tests.truth import diff, warehouse

# A fixed instant in the past: the data is the same on every run (it is generated relative to
# the clock), the service's real clock is later (so "today" covers every order), and the
# truth stands still while we compare.
SIM_START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@contextlib.asynccontextmanager
async def live_simulator(**config: Any) -> AsyncIterator[RunningSim]:
    """A simulator on a frozen clock at SIM_START, served over real HTTP."""
    sim = Simulator(SimConfig(**config), clock=FakeClock(SIM_START))
    async with run_simulator(sim) as running:
        yield running


def api_settings(running: RunningSim) -> dict[str, str]:
    sub = running.sim.config.subscriptions[0]
    return {
        "api_base_url": running.base_url,
        "api_token_url": running.token_url,
        "api_scope": running.scope,
        "api_client_id": sub.client_id,
        "api_client_secret": sub.client_secret,
        "api_subscription_key": sub.subscription_key,
    }


def service_settings(
    running: RunningSim, database_url: str, accounts: list[Account], **overrides: Any
) -> Settings:
    api = api_settings(running)
    return Settings(
        database_url=database_url,
        api_base_url=api["api_base_url"],
        api_token_url=api["api_token_url"],
        api_scope=api["api_scope"],
        api_client_id=api["api_client_id"],
        api_client_secret=SecretStr(api["api_client_secret"]),
        api_subscription_key=SecretStr(api["api_subscription_key"]),
        accounts=accounts,
        **{"schedule_jitter_seconds": 0, "health_port": 0, **overrides},
    )


def service_env(
    running: RunningSim, database_url: str, accounts: Collection[str], **settings: Any
) -> dict[str, str]:
    """The process environment for `syncer ...` against `running`: SYNCER_* only from here."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_")}
    values = {**api_settings(running), "database_url": database_url,
              "accounts": ",".join(accounts), **settings}  # fmt: skip
    return {**base, **{f"SYNCER_{k.upper()}": str(v) for k, v in values.items()}}


async def assert_orders_match_truth(
    engine: AsyncEngine, sim: Simulator, customer: str, orders: set[str]
) -> int:
    """The warehouse holds exactly the truth for `orders` of `customer`: every child row of
    each, none missing, none extra. Returns the rows compared."""
    expected = {
        table: [r for r in rows if r["sales_order_number"] in orders]
        for table, rows in sim.truth(customer).items()
    }
    actual = {
        table: [r for r in rows if r["sales_order_number"] in orders]
        for table, rows in (await warehouse(engine, customer)).items()
    }
    problems = diff(expected, actual)
    assert not problems, "loaded orders differ from the simulator:\n" + "\n".join(problems)
    return sum(len(rows) for rows in expected.values())


async def loaded_orders(engine: AsyncEngine, customer: str) -> set[str]:
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(
            "SELECT sales_order_number FROM scansource.sales_orders WHERE customer_number = $1",
            (customer,),
        )
        return {r[0] for r in result}
