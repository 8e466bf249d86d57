"""Serving the simulator on a real port: `run_simulator` for tests, `serve_forever` for the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from syncer.collector import fewer_collections
from syncer.sim.app import BASE_PATH
from syncer.sim.simulator import Simulator
from syncer.sim.tokens import SCOPE, TENANT


@dataclass(frozen=True)
class RunningSim:
    sim: Simulator
    host: str
    port: int
    base_url: str  # e.g. http://127.0.0.1:PORT/scsc/salesorder/v1
    token_url: str  # e.g. http://127.0.0.1:PORT/scansourceb2c.onmicrosoft.com/oauth2/v2.0/token
    scope: str


@asynccontextmanager
async def run_simulator(
    sim: Simulator, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[RunningSim]:
    """Serve `sim` until the block exits; port 0 picks a free port (see `.port`)."""
    runner = web.AppRunner(sim.app(), access_log=None)
    await runner.setup()
    try:
        with fewer_collections():  # for the server's life, as in the syncer's runtime
            site = web.TCPSite(runner, host, port)
            await site.start()
            bound = runner.addresses[0][1]
            root = f"http://{host}:{bound}"
            yield RunningSim(
                sim=sim,
                host=host,
                port=bound,
                base_url=root + BASE_PATH,
                token_url=f"{root}/{TENANT}/oauth2/v2.0/token",
                scope=SCOPE,
            )
    finally:
        await runner.cleanup()


async def serve_forever(
    sim: Simulator,
    host: str = "127.0.0.1",
    port: int = 8080,
    on_ready: Callable[[RunningSim], None] | None = None,
) -> None:
    """Serve until cancelled; `on_ready` gets the bound URLs (e.g. to print them)."""
    async with run_simulator(sim, host, port) as running:
        if on_ready is not None:
            on_ready(running)
        await asyncio.Event().wait()
