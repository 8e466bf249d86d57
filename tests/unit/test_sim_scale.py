"""The simulator holds benchmark-sized accounts cheaply. Prints figures; asserts only memory."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from datetime import UTC, datetime

import aiohttp
import pytest

from syncer.sim import FakeClock, SimConfig, Simulator, run_simulator

START = datetime(2024, 3, 7, 19, 15, tzinfo=UTC)


@pytest.mark.slow
async def test_twenty_thousand_orders_build_quickly_in_little_memory() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        began = time.perf_counter()
        sim = Simulator(SimConfig(orders_per_account=6667), FakeClock(START))
        built = time.perf_counter() - began
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    orders = sum(len(sim.order_numbers(c)) for c in sim.customer_numbers())
    print(f"\n{orders} orders: built in {built:.2f}s (traced), state {held / 1e6:.1f} MB")
    assert orders == 20_001
    assert held < 100e6  # ~0.5 KB per order of state; plans are regenerated, not stored


@pytest.mark.slow
async def test_detail_throughput_over_http_is_reported() -> None:
    sim = Simulator(SimConfig(orders_per_account=700), FakeClock(START))
    async with run_simulator(sim) as running, aiohttp.ClientSession() as http:
        form = {
            "grant_type": "client_credentials",
            "client_id": "demo-client",
            "client_secret": "demo-secret",
            "scope": running.scope,
        }
        async with http.post(running.token_url, data=form) as r:
            token = (await r.json())["access_token"]
        headers = {
            "Ocp-Apim-Subscription-Key": "demo-subscription-key",
            "Authorization": f"Bearer {token}",
        }
        customer = sim.customer_numbers()[0]
        numbers = sim.order_numbers(customer)
        gate = asyncio.Semaphore(16)

        async def fetch(number: str) -> int:
            params = {"customerNumber": customer, "salesOrderNumber": number}
            async with (
                gate,
                http.get(f"{running.base_url}/detail", params=params, headers=headers) as r,
            ):
                await r.read()
                return r.status

        began = time.perf_counter()
        statuses = await asyncio.gather(*(fetch(n) for n in numbers))
        took = time.perf_counter() - began
    assert set(statuses) == {200}
    print(f"\n{len(numbers)} cold details over HTTP in {took:.2f}s ({len(numbers) / took:.0f}/s)")
