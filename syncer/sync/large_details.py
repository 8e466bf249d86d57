"""One large detail at a time, from its decoding until its order is written.

An order's rows take several times its body in memory, and each fetcher decodes the detail it
fetched: api_concurrency fetchers meeting large orders at once would hold
ten times all their bodies together, and those orders would then wait in the writers' queues
too. A detail larger than the threshold waits, as bytes, until no other large one is being
decoded or is waiting to be written; small ones are never held up.
docs/decisions/0009-large-details-and-size-cap.md
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable


class LargeDetails:
    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self._gate = asyncio.Semaphore(1)
        self._holder: str | None = None  # the order whose large detail is in memory

    def admit(self, order: str, size: int) -> Awaitable[None] | None:
        """None if `order`'s body of `size` bytes may be decoded now; else what to await first:
        until no other large detail is in memory."""
        if size <= self.threshold or self._holder == order:
            return None
        return self._enter(order)

    async def _enter(self, order: str) -> None:
        await self._gate.acquire()
        self._holder = order

    def done(self, orders: Iterable[str]) -> None:
        """These orders are written, or failed without rows: a large one lets the next in."""
        if self._holder is not None and self._holder in orders:
            self._holder = None
            self._gate.release()
