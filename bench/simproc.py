"""The simulator in its own process, with a small control channel, so that the syncer's CPU and
memory are measured alone while both share the machine.

The parent talks to it through a multiprocessing pipe: set the clock, apply lifecycle changes,
read how many details it served and how much CPU it used. The simulator keeps a fake clock:
what it serves depends only on the seed, the commands and the requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import random
import resource
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CUSTOMER = "1000012345"
SUBSCRIPTION = {
    "client_id": "bench-client",
    "client_secret": "bench-secret",
    "subscription_key": "bench-subscription-key",
}


@dataclass(frozen=True)
class SimInfo:
    base_url: str
    token_url: str
    scope: str
    customer: str
    client_id: str
    client_secret: str
    subscription_key: str


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _change(sim: Any, count: int, seed: int) -> tuple[dict[str, int], list[str]]:
    """Lifecycle changes to `count` distinct orders, picked at random among those still moving
    (open, partially shipped, on hold), as a distributor's day changes them: ship the next
    delivery, else put on hold or release. When too few are moving, the rest are edits that
    change only LastChanged (their details come back unchanged)."""
    from syncer.sim.state import COMPLETELY_SHIPPED, ON_HOLD, status_of

    orders = sim.orders_of(CUSTOMER)
    rng = random.Random(seed)
    moving = [i for i, s in enumerate(orders) if status_of(s) in ("Open", "Partially Shipped",
                                                                  ON_HOLD)]  # fmt: skip
    picked = rng.sample(moving, min(count, len(moving)))
    if len(picked) < count:
        still = sorted(set(range(len(orders))) - set(picked))
        picked += rng.sample(still, min(count - len(picked), len(still)))
    kinds: dict[str, int] = {}
    for i in picked:
        s = orders[i]
        status = status_of(s)
        if status == ON_HOLD:
            sim.set_hold(CUSTOMER, s.order_number, False)
            kind = "release"
        elif (
            status != COMPLETELY_SHIPPED
            and rng.random() < 0.8
            and sim.ship_next(CUSTOMER, s.order_number)
        ):
            kind = "ship"
        elif status in ("Open", "Partially Shipped"):
            sim.set_hold(CUSTOMER, s.order_number, True)
            kind = "hold"
        else:
            sim.touch(CUSTOMER, s.order_number)
            kind = "touch"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds, [orders[i].order_number for i in picked]


def _big_details(sim: Any, megabytes: float, shape: str, count: int) -> tuple[list[str], int]:
    """Serve the first `count` orders' details grown to about `megabytes` MB each, in place of
    their own: `lines` adds order lines (each with a few serial numbers, as a large project
    order has), `serials` adds serial numbers to ten lines. The order numbers, and the size of
    the largest body."""
    import orjson

    numbers, largest = [], 0
    for state in sim.orders_of(CUSTOMER)[:count]:
        body = _grown(orjson.loads(sim.detail_bytes(state, False)), int(megabytes * 1e6), shape)
        sim.detail_overrides[state.order_number] = (200, body)
        numbers.append(state.order_number)
        largest = max(largest, len(body))
    return numbers, largest


def _grown(detail: dict[str, Any], target: int, shape: str) -> bytes:
    import orjson

    template = detail["SalesOrderLines"][0]
    if shape == "lines":
        line = {**template, "SerialNumbers": [f"S{n:013d}" for n in range(20)]}
        count = max(1, target // len(orjson.dumps(line)))
        lines = [{**line, "LineNumber": 10 * (n + 1), "POLineNumber": n + 1} for n in range(count)]
    elif shape == "serials":
        per_line = max(1, target // 10 // 18)  # '"S0000000000000",' is 18 bytes
        lines = [
            {**template, "LineNumber": 10 * (n + 1), "POLineNumber": n + 1,
             "SerialNumbers": [f"S{n:03d}{k:010d}" for k in range(per_line)]}
            for n in range(10)
        ]  # fmt: skip
    else:
        raise ValueError(f"unknown shape {shape!r} (lines, serials)")
    detail["SalesOrderLines"] = lines
    detail["Deliveries"] = []
    return orjson.dumps(detail)


def _main(conn: Connection, orders: int, latency_ms: float, seed: int) -> None:
    asyncio.run(_serve(conn, orders, latency_ms, seed))


async def _serve(conn: Connection, orders: int, latency_ms: float, seed: int) -> None:
    from syncer.sim import FakeClock, SimConfig, Simulator, Subscription, run_simulator

    sub = Subscription(customer_numbers=(CUSTOMER,), **SUBSCRIPTION)
    config = SimConfig(
        seed=seed, subscriptions=(sub,), orders_per_account=orders, latency_ms=latency_ms
    )
    clock = FakeClock(START)
    sim = Simulator(config, clock)
    done = asyncio.Event()
    async with run_simulator(sim) as running:
        info = SimInfo(running.base_url, running.token_url, running.scope, CUSTOMER, **SUBSCRIPTION)
        commands: dict[str, Callable[..., Any]] = {
            "set_clock": lambda when: clock.set(when),
            "change": lambda count, seed: _change(sim, count, seed),
            "detail_hits": lambda: sum(sim.detail_hits.values()),
            "big_details": lambda mb, shape, count: _big_details(sim, mb, shape, count),
            "cpu": cpu_seconds,
            "stop": done.set,
        }

        def on_command() -> None:
            name, args = conn.recv()
            try:
                conn.send(("ok", commands[name](*args)))
            except Exception as exc:  # reported to the parent, which raises it
                conn.send(("error", f"{type(exc).__name__}: {exc}"))

        asyncio.get_running_loop().add_reader(conn.fileno(), on_command)
        conn.send(("ok", info))
        await done.wait()


class SimProcess:
    """`with SimProcess(orders=20_000) as sim:` — a simulator on a free local port."""

    def __init__(self, *, orders: int, latency_ms: float = 0.0, seed: int = 42) -> None:
        ctx = mp.get_context("spawn")
        self._conn, self._child = ctx.Pipe()
        self._proc = ctx.Process(
            target=_main, args=(self._child, orders, latency_ms, seed), daemon=True
        )
        self.orders = orders
        self.latency_ms = latency_ms
        self.info: SimInfo

    def __enter__(self) -> SimProcess:
        self._proc.start()
        # Only the simulator holds its end now: if it dies, our reads fail instead of waiting.
        self._child.close()
        self.info = self._reply()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc.is_alive():
            with contextlib.suppress(OSError, EOFError):
                self.call("stop")
            self._proc.join(10)
            if self._proc.is_alive():
                self._proc.kill()

    def _reply(self) -> Any:
        try:
            status, value = self._conn.recv()
        except EOFError:
            raise RuntimeError(
                f"the simulator process exited (code {self._proc.exitcode}); its error is above"
            ) from None
        if status != "ok":
            raise RuntimeError(f"simulator: {value}")
        return value

    @property
    def pid(self) -> int:
        assert self._proc.pid is not None, "not started"
        return self._proc.pid

    def call(self, name: str, *args: Any) -> Any:
        self._conn.send((name, args))
        return self._reply()
