"""Virtual time for code that sleeps: `clock()` and `sleep()` to inject, `run()` to drive.

Sleepers wake in deadline order; time jumps straight to the next deadline once every task is
blocked, so a test of "ten seconds of traffic" takes milliseconds and measures exact instants.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Coroutine
from typing import Any


class VirtualTime:
    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._seq), future))
        await future

    async def _settle(self) -> None:
        for _ in range(20):  # let every runnable task run until it blocks again
            await asyncio.sleep(0)

    async def run(self, *coros: Coroutine[Any, Any, Any]) -> list[Any]:
        """Run the coroutines to completion, advancing time whenever all of them are asleep."""
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            await self._settle()
            if all(t.done() for t in tasks):
                break
            if not self._sleepers:
                raise RuntimeError("every task is blocked and none is asleep: a deadlock")
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            if not future.done():
                future.set_result(None)
        return [t.result() for t in tasks]
