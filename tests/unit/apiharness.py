"""A simulator on a FakeClock over real HTTP, with the typed client and a raw caller for
requests the client would refuse to send (the simulator's own validation is under test too)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
from pydantic import SecretStr

from syncer.api.auth import Credentials
from syncer.api.client import ScanSourceClient
from syncer.api.transport import Transport, make_session
from syncer.sim import FakeClock, RunningSim, SimConfig, Simulator, Subscription, run_simulator

START = datetime(2024, 3, 7, 19, 15, tzinfo=UTC)  # 2:15 PM Eastern
DEMO = SimConfig().subscriptions[0]
OTHER = Subscription("other-client", "other-secret", "other-key", ("2000099999",))
CUSTOMER = DEMO.customer_numbers[0]
NEIGHBOUR = DEMO.customer_numbers[1]  # same subscription, another account


class ApiHarness:
    def __init__(self, running: RunningSim, session: aiohttp.ClientSession) -> None:
        self.running = running
        self.sim: Simulator = running.sim
        self.clock: FakeClock = running.sim.clock  # type: ignore[assignment]
        self.session = session
        transport = Transport(
            session,
            base_url=running.base_url,
            token_url=running.token_url,
            scope=running.scope,
            credentials=Credentials(
                DEMO.client_id, SecretStr(DEMO.client_secret), SecretStr(DEMO.subscription_key)
            ),
            max_attempts=1,  # a refusal is the answer under test, never retried
        )
        self.client = ScanSourceClient(transport)

    async def raw(
        self,
        method: str,
        op: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        data: bytes | None = None,
        customer: str | None = CUSTOMER,
    ) -> tuple[int, Any]:
        """One call with a fresh token; returns (status, parsed JSON or None for no body)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": DEMO.client_id,
            "client_secret": DEMO.client_secret,
            "scope": self.running.scope,
        }
        async with self.session.post(self.running.token_url, data=form) as r:
            token = (await r.json())["access_token"]
        headers = {
            "Ocp-Apim-Subscription-Key": DEMO.subscription_key,
            "Authorization": f"Bearer {token}",
        }
        query = {**({"customerNumber": customer} if customer else {}), **(params or {})}
        payload = orjson.dumps(body) if body is not None else data
        if payload is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(
            method, f"{self.running.base_url}/{op}", params=query, data=payload, headers=headers
        ) as r:
            raw = await r.read()
            return r.status, orjson.loads(raw) if raw else None

    def order(self, number: str) -> Any:
        s = self.sim.find(number)
        assert s is not None
        return s


@contextlib.asynccontextmanager
async def open_harness(**config: Any) -> AsyncIterator[ApiHarness]:
    sim = Simulator(
        SimConfig(**{"subscriptions": (DEMO, OTHER), "orders_per_account": 150, **config}),
        FakeClock(START),
    )
    async with run_simulator(sim) as running, make_session(concurrency=8) as session:
        yield ApiHarness(running, session)
