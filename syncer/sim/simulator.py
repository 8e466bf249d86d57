"""The simulator's model: every account's orders, their lifecycle, and the ground truth.

Holds per order only a small `OrderState`; plans are regenerated through a bounded cache and
built detail payloads are kept, as bytes, in a second bounded cache keyed by state version.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Sequence
from datetime import date

import orjson
from aiohttp import web

from syncer.sim import payloads
from syncer.sim.books import CustomerBook, build_book
from syncer.sim.clock import Clock, RealClock, eastern_day, to_minute
from syncer.sim.config import SimConfig, Subscription
from syncer.sim.faults import FaultInjector
from syncer.sim.plan import OrderPlan, build_items, build_plan
from syncer.sim.state import OrderState, initial_state, new_order_state
from syncer.sim.tokens import TokenIssuer
from syncer.sim.truth import TABLES, Row, order_rows
from syncer.sim.view import OrderView, build_view, effective_deliveries

PLAN_CACHE_SIZE = 4096
DETAIL_CACHE_SIZE = 4096


class Simulator:
    """ScanSource's sales orders for the configured accounts, driven by `clock`."""

    def __init__(self, config: SimConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock: Clock = clock if clock is not None else RealClock()
        self.tokens = TokenIssuer(self.clock, config.token_ttl_seconds)
        self.faults = FaultInjector(config.faults, config.seed)
        customers = config.customer_numbers
        self._n_customers = len(customers)
        self._books = {c: build_book(config.seed, c, i) for i, c in enumerate(customers)}
        self._items = build_items()
        self._by_key = {s.subscription_key: s for s in config.subscriptions}
        self._by_client = {s.client_id: s for s in config.subscriptions}
        start = to_minute(self.clock.now())
        n = config.orders_per_account
        self._orders: dict[str, list[OrderState]] = {}
        self._by_number: dict[str, OrderState] = {}
        for c, book in self._books.items():
            states = [
                initial_state(
                    config.seed, book, self._gid(book, i), i, n, start, config.history_days
                )
                for i in range(n)
            ]
            self._orders[c] = states
            self._by_number.update((s.order_number, s) for s in states)
        self._plan = functools.lru_cache(maxsize=PLAN_CACHE_SIZE)(self._make_plan)
        self._details: OrderedDict[tuple[str, int, bool, float], bytes] = OrderedDict()

    def app(self) -> web.Application:
        from syncer.sim.app import build_app  # app imports this module

        return build_app(self)

    # -- look-ups used by the app -------------------------------------------------------------

    def subscription_for_key(self, key: str) -> Subscription | None:
        return self._by_key.get(key)

    def subscription_for_client(self, client_id: str) -> Subscription | None:
        return self._by_client.get(client_id)

    def customer_numbers(self) -> tuple[str, ...]:
        return tuple(self._books)

    def orders_of(self, customer_number: str) -> Sequence[OrderState]:
        """The account's orders, ascending by order number."""
        return self._orders[customer_number]

    def find(self, order_number: str) -> OrderState | None:
        return self._by_number.get(order_number)

    def city_of(self, s: OrderState) -> str:
        return self._books[s.customer].ship_tos[s.ship_to].city

    def view(self, s: OrderState) -> OrderView:
        v = build_view(s, self._books[s.customer], self._plan(s.order_number))
        memo = self.faults.long_memo(s.order_number)
        if memo is not None:  # a data quirk: payloads and truth() both show it
            v = dataclasses.replace(v, plan=dataclasses.replace(v.plan, memo=memo))
        return v

    def detail_bytes(self, s: OrderState, exclude_serial_tracking: bool) -> bytes:
        long_text = self.faults.config.long_text_rate
        key = (s.order_number, s.version, exclude_serial_tracking, long_text)
        body = self._details.get(key)
        if body is None:
            body = orjson.dumps(payloads.detail(self.view(s), exclude_serial_tracking))
            self._details[key] = body
            if len(self._details) > DETAIL_CACHE_SIZE:
                self._details.popitem(last=False)
        else:
            self._details.move_to_end(key)
        return body

    def order_numbers(self, customer_number: str) -> list[str]:
        return [s.order_number for s in self._orders[customer_number]]

    def truth(self, customer_number: str | None = None) -> dict[str, list[dict[str, object]]]:
        """What the warehouse should hold, per table, for one account or all of them."""
        out: dict[str, list[Row]] = {t: [] for t in TABLES}
        customers = (customer_number,) if customer_number else tuple(self._books)
        for c in customers:
            for s in self._orders[c]:
                order_rows(self.view(s), out)
        return out

    # -- lifecycle ----------------------------------------------------------------------------

    def touch(self, customer_number: str, order_number: str) -> None:
        """An edit that changes nothing visible but LastChanged (e.g. a memo saved unchanged)."""
        self._bump(self._get(customer_number, order_number))

    def set_hold(self, customer_number: str, order_number: str, on_hold: bool) -> None:
        """Holds block shipping; a release reschedules from today. Shown only on open orders."""
        s = self._get(customer_number, order_number)
        s.on_hold = on_hold
        if not on_hold:
            s.anchor_day = self._today()
        self._bump(s)

    def ship_next(self, customer_number: str, order_number: str) -> bool:
        """Ship the next planned delivery today; False if held, cancelled, a quote or done."""
        s = self._get(customer_number, order_number)
        if s.cancelled or s.quote or s.on_hold or len(s.shipped_days) >= s.n_deliveries:
            return False
        s.shipped_days = (*s.shipped_days, self._today())
        s.anchor_day = self._today()
        self._bump(s)
        return True

    def cancel(self, customer_number: str, order_number: str) -> bool:
        """Cancel while nothing has shipped: every line's Canceled becomes Ordered - Shipped."""
        s = self._get(customer_number, order_number)
        if s.cancelled or s.shipped_days:
            return False
        s.cancelled = True
        self._bump(s)
        return True

    def drop_line(self, customer_number: str, order_number: str, line_number: int) -> bool:
        """Remove an unshipped line from the order (it disappears from every payload)."""
        s = self._get(customer_number, order_number)
        if s.cancelled:
            return False
        visible = {lv.plan.line_number: lv for lv in self.view(s).lines}
        line = visible.get(line_number)
        if line is None or line.shipped or len(visible) == 1:
            return False
        s.dropped = s.dropped | {line_number}
        s.n_deliveries = len(effective_deliveries(self._plan(s.order_number), s.dropped))
        self._bump(s)
        return True

    def create_order(self, customer_number: str) -> str:
        """Place a new Open order now; returns its order number (the highest of the account)."""
        book = self._books[customer_number]
        states = self._orders[customer_number]
        idx = len(states)
        now = to_minute(self.clock.now())
        s = new_order_state(self.config.seed, book, self._gid(book, idx), idx, now)
        states.append(s)
        self._by_number[s.order_number] = s
        return s.order_number

    # -- internals ----------------------------------------------------------------------------

    def _gid(self, book: CustomerBook, idx: int) -> int:
        return idx * self._n_customers + book.ordinal

    def _make_plan(self, order_number: str) -> OrderPlan:
        s = self._by_number[order_number]
        return build_plan(self.config.seed, self._books[s.customer], self._items, s)

    def _get(self, customer_number: str, order_number: str) -> OrderState:
        s = self._by_number.get(order_number)
        if s is None or s.customer != customer_number:
            raise KeyError(f"no order {order_number} for customer {customer_number}")
        return s

    def _today(self) -> int:
        return eastern_day(to_minute(self.clock.now())).toordinal()

    def _bump(self, s: OrderState) -> None:
        s.last_changed = max(s.last_changed, to_minute(self.clock.now()))
        s.version += 1

    def today(self) -> date:
        """The simulator clock's Eastern date."""
        return date.fromordinal(self._today())
