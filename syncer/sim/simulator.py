"""The simulator's model: every account's orders, their lifecycle, and the ground truth.

Holds per order only a small `OrderState`; plans are regenerated through a bounded cache, views
(plan + state) are kept in a second one keyed by state version, and built detail payloads, as
bytes, in a third.

Time-driven changes (orders placed asynchronously, the lifecycle driver's events) happen in
`settle`, in the order of their due times and stamped with them, before anything is read; so
what a caller sees depends only on the seed, the requests made and the clock.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import functools
import heapq
import itertools
import math
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from datetime import date

import orjson
from aiohttp import web

from syncer.sim import payloads
from syncer.sim.books import Address, CustomerBook, build_book
from syncer.sim.clock import Clock, RealClock, eastern_day, to_minute
from syncer.sim.codes import invoice_owner
from syncer.sim.config import SimConfig, Subscription
from syncer.sim.driver import LifecycleDriver
from syncer.sim.faults import FaultInjector
from syncer.sim.intake import OrderSpec
from syncer.sim.items import ItemIndex, build_items
from syncer.sim.lookup import SerialIndex
from syncer.sim.plan import OrderPlan, build_plan
from syncer.sim.state import OrderState, initial_state, new_order_state, shipping_address
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
        self.items = ItemIndex(build_items())
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
        # (LastChanged minute, index) of every order, sorted: "changed since" finds its orders
        # without scanning the account (the syncer's every poll asks exactly that).
        self._by_change = {
            c: sorted((s.last_changed, s.idx) for s in states) for c, states in self._orders.items()
        }
        self._plan = functools.lru_cache(maxsize=PLAN_CACHE_SIZE)(self._make_plan)
        self._view = functools.lru_cache(maxsize=PLAN_CACHE_SIZE)(self._make_view)
        self._details: OrderedDict[tuple[str, int, bool, tuple[float, int]], bytes] = OrderedDict()
        # Detail responses served, by order number: lets tests count re-fetches.
        self.detail_hits: Counter[str] = Counter()
        # Test hook: order number -> (HTTP status, body) served instead of the real detail.
        self.detail_overrides: dict[str, tuple[int, bytes]] = {}
        # Orders gone from the API (`remove`): found by number no more, and those unlisted by
        # no search either.
        self._removed: set[str] = set()
        self._unlisted: set[str] = set()
        self._serials = {c: SerialIndex() for c in customers}
        # Orders accepted by create-order-async, not yet placed: (due epoch s, seq, customer, spec)
        self._pending: list[tuple[float, int, str, OrderSpec]] = []
        self._seq = itertools.count()
        self._stamp: int | None = None  # the minute of the timed change being applied
        # Counts every change to an order or the order book: what a search matched is still
        # what it matches while this has not moved.
        self.changes = 0
        self._settling = False
        self.driver: LifecycleDriver | None = None
        if config.lifecycle_events_per_hour > 0:
            self.driver = LifecycleDriver(
                config.seed, config.lifecycle_events_per_hour, self.clock.now().timestamp()
            )

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
        self.settle()
        return self._listed(self._orders[customer_number])

    def _listed(self, states: list[OrderState]) -> list[OrderState]:
        """`states` without the orders no search finds any more."""
        if not self._unlisted:
            return states
        return [s for s in states if s.order_number not in self._unlisted]

    def changed_since(self, customer_number: str, minute: int) -> list[OrderState]:
        """The account's orders whose LastChanged is at or after `minute`, by order number."""
        self.settle()
        index = self._by_change[customer_number]
        states = self._orders[customer_number]
        first = bisect.bisect_left(index, (minute, -1))
        return self._listed([states[i] for i in sorted(i for _, i in index[first:])])

    def find(self, order_number: str) -> OrderState | None:
        self.settle()
        if self._removed and order_number in self._removed:
            return None
        return self._by_number.get(order_number)

    def find_invoice(self, invoice_number: str) -> OrderState | None:
        """The order an invoice number bills (numbers are arithmetic on the order's gid)."""
        self.settle()
        owner = invoice_owner(invoice_number)
        if owner is None:
            return None
        gid = owner[0]
        states = self._orders[self.customer_numbers()[gid % self._n_customers]]
        idx = gid // self._n_customers
        found = states[idx] if idx < len(states) else None
        return None if found is None or found.order_number in self._removed else found

    def orders_with_serials(
        self, customer_number: str, serials: frozenset[str], macs: frozenset[str]
    ) -> list[OrderState]:
        """The account's orders planned to carry any of these serials or MACs, ascending by
        order number (a superset: the caller checks what has shipped)."""
        index = self._serials[customer_number]
        states = self._orders[customer_number]
        index.extend(states, self.plan)
        return self._listed([states[i] for i in sorted(index.candidates(serials, macs))])

    def city_of(self, s: OrderState) -> str:
        return shipping_address(s, self._books[s.customer]).city

    def default_ship_to(self, customer_number: str) -> Address:
        return self._books[customer_number].ship_tos[0]

    def plan(self, s: OrderState) -> OrderPlan:
        return self._plan(s.order_number)

    def view(self, s: OrderState) -> OrderView:
        # Keyed like the detail cache: the list row and then the detail show the same view.
        return self._view(s.order_number, s.version, self.faults.long_text)

    def _make_view(
        self, order_number: str, _version: int, _long_text: tuple[float, int]
    ) -> OrderView:
        s = self._by_number[order_number]
        v = build_view(s, self._books[s.customer], self._plan(order_number))
        memo = self.faults.long_memo(s.order_number)
        if memo is not None:  # a data quirk: payloads and truth() both show it
            v = dataclasses.replace(v, plan=dataclasses.replace(v.plan, memo=memo))
        return v

    def detail_bytes(self, s: OrderState, exclude_serial_tracking: bool) -> bytes:
        key = (s.order_number, s.version, exclude_serial_tracking, self.faults.long_text)
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
        return [s.order_number for s in self.orders_of(customer_number)]

    def truth(self, customer_number: str | None = None) -> dict[str, list[dict[str, object]]]:
        """What the warehouse should hold, per table, for one account or all of them."""
        self.settle()
        out: dict[str, list[Row]] = {t: [] for t in TABLES}
        customers = (customer_number,) if customer_number else tuple(self._books)
        for c in customers:
            for s in self._orders[c]:
                if s.order_number not in self._removed:
                    order_rows(self.view(s), out)
        return out

    # -- lifecycle ----------------------------------------------------------------------------

    def remove(self, customer_number: str, order_number: str, *, listed: bool = False) -> None:
        """The order disappears from the API (deleted or archived at ScanSource): asked for by
        number (detail, tracking, cancel) it is 404 "Sales order … not found.", and no search
        finds it; with `listed`, searches still list it (their index has not caught up)."""
        self._get(customer_number, order_number)
        self._removed.add(order_number)
        if not listed:
            self._unlisted.add(order_number)
        self.changes += 1

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
        if s.cancelled or s.quote or s.on_hold or len(s.shipped_at) >= s.n_deliveries:
            return False
        s.shipped_at = (*s.shipped_at, self._now_minute())
        s.anchor_day = self._today()
        self._bump(s)
        return True

    def cancel(self, customer_number: str, order_number: str) -> bool:
        """Cancel while nothing has shipped: every line's Canceled becomes Ordered - Shipped."""
        s = self._get(customer_number, order_number)
        if s.cancelled or s.shipped_at:
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

    def create_order(self, customer_number: str, spec: OrderSpec | None = None) -> str:
        """Place a new Open order now, from `spec` if given (else random lines); returns its
        order number (the highest of the account)."""
        self.settle()
        book = self._books[customer_number]
        states = self._orders[customer_number]
        idx = len(states)
        now = self._now_minute()
        s = new_order_state(self.config.seed, book, self._gid(book, idx), idx, now, spec)
        states.append(s)
        self.changes += 1
        self._by_number[s.order_number] = s
        bisect.insort(self._by_change[customer_number], (s.last_changed, s.idx))
        if spec is not None and spec.requested_delivery is not None:
            # Schedule the first delivery for the requested date, never earlier than usual.
            lead = self.plan(s).deliveries[0].lead_days
            s.anchor_day = max(s.anchor_day, spec.requested_delivery.toordinal() - lead)
        return s.order_number

    def submit_order(self, customer_number: str, spec: OrderSpec) -> float:
        """Create-order-async: the order is placed `create_delay_seconds` later on the clock.
        Returns when (epoch seconds)."""
        due = self.clock.now().timestamp() + self.config.create_delay_seconds
        heapq.heappush(self._pending, (due, next(self._seq), customer_number, spec))
        return due

    @property
    def pending_orders(self) -> int:
        return len(self._pending)

    def settle(self) -> None:
        """Apply every timed change due by now, each stamped with its own due minute."""
        if self._settling:  # the driver reads orders while it runs
            return
        now = self.clock.now().timestamp()
        self._settling = True
        try:
            while True:
                placing = self._pending[0][0] if self._pending else math.inf
                event = self.driver.next_at if self.driver else math.inf
                due = min(placing, event)
                if due > now:
                    return
                with self._stamped(int(due) // 60):
                    if placing <= event:
                        _, _, customer, spec = heapq.heappop(self._pending)
                        self.create_order(customer, spec)
                    else:
                        assert self.driver is not None
                        self.driver.fire(self)
        finally:
            self._settling = False

    # -- internals ----------------------------------------------------------------------------

    def _gid(self, book: CustomerBook, idx: int) -> int:
        return idx * self._n_customers + book.ordinal

    def _make_plan(self, order_number: str) -> OrderPlan:
        s = self._by_number[order_number]
        return build_plan(self.config.seed, self._books[s.customer], self.items.items, s)

    def _get(self, customer_number: str, order_number: str) -> OrderState:
        s = self.find(order_number)  # settles: a change made now comes after those due before
        if s is None or s.customer != customer_number:
            raise KeyError(f"no order {order_number} for customer {customer_number}")
        return s

    @contextlib.contextmanager
    def _stamped(self, minute: int) -> Iterator[None]:
        self._stamp = minute
        try:
            yield
        finally:
            self._stamp = None

    def _now_minute(self) -> int:
        return self._stamp if self._stamp is not None else to_minute(self.clock.now())

    def _today(self) -> int:
        return eastern_day(self._now_minute()).toordinal()

    def _bump(self, s: OrderState) -> None:
        before = s.last_changed
        s.last_changed = max(before, self._now_minute())
        s.version += 1
        self.changes += 1
        if s.last_changed != before:
            index = self._by_change[s.customer]
            del index[bisect.bisect_left(index, (before, s.idx))]
            bisect.insort(index, (s.last_changed, s.idx))

    def today(self) -> date:
        """The simulator clock's Eastern date."""
        return date.fromordinal(self._today())
