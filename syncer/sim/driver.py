"""The lifecycle driver: random order events (ship, hold, release, cancel, touch, new order) on
the simulator's clock, so a standalone simulator and incremental-sync tests see a live system.

Events form a Poisson process of `events_per_hour` across all accounts. Their times and choices
come from one seeded random stream and the state at each event, so the same seed and the same
clock always give the same history, however often the clock is read in between.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from syncer.sim.codes import seed_int
from syncer.sim.state import ON_HOLD, OPEN, PARTIALLY_SHIPPED, OrderState, status_of

if TYPE_CHECKING:
    from syncer.sim.simulator import Simulator

# Relative frequency of each kind of event: shipping dominates, as in a distributor's day.
EVENT_WEIGHTS = {"ship": 40, "create": 18, "touch": 17, "release": 9, "hold": 8, "cancel": 8}
WINDOW = 300  # events pick among each account's most recent orders, where the activity is
TRIES = 12  # random picks before falling back to scanning the window for a fitting order


def _shippable(s: OrderState) -> bool:
    return not (s.cancelled or s.quote or s.on_hold) and len(s.shipped_at) < s.n_deliveries


def _holdable(s: OrderState) -> bool:
    return status_of(s) in (OPEN, PARTIALLY_SHIPPED)


def _held(s: OrderState) -> bool:
    return status_of(s) == ON_HOLD


def _cancellable(s: OrderState) -> bool:
    # "On Hold" can hide a partial shipment, and nothing that shipped can be cancelled.
    return status_of(s) in (OPEN, ON_HOLD) and not s.shipped_at


def _touchable(s: OrderState) -> bool:
    return not s.cancelled


_FITS: dict[str, Callable[[OrderState], bool]] = {
    "ship": _shippable,
    "hold": _holdable,
    "release": _held,
    "cancel": _cancellable,
    "touch": _touchable,
}


class LifecycleDriver:
    """Fires one event at a time at `next_at` (epoch seconds); the simulator stamps it."""

    def __init__(self, seed: int, events_per_hour: float, start: float) -> None:
        if events_per_hour <= 0:
            raise ValueError("events_per_hour must be positive")
        self._rng = random.Random(seed_int(seed, "driver"))
        self._rate = events_per_hour / 3600
        self._kinds = tuple(EVENT_WEIGHTS)
        self._weights = tuple(EVENT_WEIGHTS.values())
        self.next_at = start + self._rng.expovariate(self._rate)
        self.fired = 0  # events drawn, whether or not an order fitted them
        self.applied: Counter[str] = Counter()  # events that changed an order, by kind
        self.log: list[tuple[int, str, str]] = []  # (minute, kind, order number), most recent last

    def fire(self, sim: Simulator) -> None:
        """Apply the event due at `next_at` (the simulator has stamped its minute), and draw
        the next one."""
        self.fired += 1
        kind = self._rng.choices(self._kinds, self._weights)[0]
        customer = self._rng.choice(sim.customer_numbers())
        number = self._apply(sim, kind, customer)
        if number is not None:
            self.applied[kind] += 1
            self.log.append((int(self.next_at) // 60, kind, number))
            del self.log[:-1000]  # bounded: the log is for people and tests, not a history
        self.next_at += self._rng.expovariate(self._rate)

    def _apply(self, sim: Simulator, kind: str, customer: str) -> str | None:
        if kind == "create":
            return sim.create_order(customer)
        s = self._pick(sim.orders_of(customer)[-WINDOW:], _FITS[kind])
        if s is None:
            return None
        number = s.order_number
        done = True
        if kind == "ship":
            done = sim.ship_next(customer, number)
        elif kind == "hold" or kind == "release":
            sim.set_hold(customer, number, kind == "hold")
        elif kind == "cancel":
            done = sim.cancel(customer, number)
        else:
            sim.touch(customer, number)
        return number if done else None

    def _pick(
        self, window: Sequence[OrderState], fits: Callable[[OrderState], bool]
    ) -> OrderState | None:
        if not window:
            return None
        for _ in range(TRIES):
            s = self._rng.choice(window)
            if fits(s):
                return s
        fitting = [s for s in window if fits(s)]
        return self._rng.choice(fitting) if fitting else None
