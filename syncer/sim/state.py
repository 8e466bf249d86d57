"""The small, mutable part of an order: everything the lifecycle changes.

An order is `plan` (a pure function of seed, account and index, regenerated on demand) plus
this state. Keeping state to a few slots is what lets 100,000 orders fit in tens of MB.
"""

from __future__ import annotations

import random

from syncer.sim.books import Address, CustomerBook
from syncer.sim.clock import eastern_day
from syncer.sim.codes import order_number, seed_int
from syncer.sim.intake import OrderSpec

OPEN = "Open"
ON_HOLD = "On Hold"
PARTIALLY_SHIPPED = "Partially Shipped"
COMPLETELY_SHIPPED = "Completely Shipped"
CANCELLED = "Cancelled"
QUOTATION = "Quotation/Sales"
STATUSES = (OPEN, ON_HOLD, PARTIALLY_SHIPPED, COMPLETELY_SHIPPED, CANCELLED, QUOTATION)

_DAY = 1440
_SHIP_TO_WEIGHTS = (6, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1)


class OrderState:
    """Header fields the list filters on, and the lifecycle position of one order."""

    __slots__ = (
        "anchor_day",
        "cancelled",
        "customer",
        "date_entered",
        "doc_type",
        "dropped",
        "end_user_po",
        "gid",
        "idx",
        "last_changed",
        "n_deliveries",
        "n_planned",
        "on_hold",
        "order_number",
        "po_number",
        "quote",
        "reference_number",
        "ship_to",
        "shipped_at",
        "spec",
        "version",
    )

    def __init__(self, customer: str, idx: int, gid: int, order_no: str, date_entered: int) -> None:
        self.customer = customer
        self.idx = idx
        self.gid = gid
        self.order_number = order_no
        self.date_entered = date_entered  # minutes since the epoch
        self.last_changed = date_entered
        self.po_number = ""
        self.end_user_po: str | None = None
        self.reference_number: str | None = None
        self.doc_type = "ZOR"
        self.ship_to = 0
        self.quote = False
        self.n_planned = 1  # deliveries the plan splits the order into
        self.n_deliveries = 1  # of those, the ones still holding a visible line
        self.shipped_at: tuple[int, ...] = ()  # epoch minutes at which each delivery shipped
        self.anchor_day = eastern_day(date_entered).toordinal()  # schedule dates count from here
        self.on_hold = False
        self.cancelled = False
        self.dropped: frozenset[int] = frozenset()  # line numbers removed from the order
        self.spec: OrderSpec | None = None  # what the customer ordered, for orders placed by PO
        self.version = 0


def shipping_address(s: OrderState, book: CustomerBook) -> Address:
    """Where the order ships: the PO's address, or one of the account's ship-tos."""
    return s.spec.ship_to if s.spec is not None else book.ship_tos[s.ship_to]


def status_of(s: OrderState) -> str:
    if s.cancelled:
        return CANCELLED
    if s.quote:
        return QUOTATION
    if len(s.shipped_at) >= s.n_deliveries:
        return COMPLETELY_SHIPPED
    if s.on_hold:
        return ON_HOLD
    return PARTIALLY_SHIPPED if s.shipped_at else OPEN


def _header(rng: random.Random, book: CustomerBook, s: OrderState) -> None:
    po_idx = s.idx - 1 if s.idx > 0 and rng.random() < 0.02 else s.idx  # one PO, two orders
    if book.po_style == 0:
        s.po_number = f"PO{100000 + po_idx}"
    elif book.po_style == 1:
        s.po_number = f"4500{(po_idx * 3 + po_idx % 3) % 10**6:06d}"
    else:
        year = eastern_day(s.date_entered).year
        s.po_number = f"{book.company.split()[0].upper()[:4]}-{year}-{po_idx:05d}"
    if rng.random() < 0.35:
        s.end_user_po = f"EU{rng.randint(10000, 999999)}"
    if rng.random() < 0.45:
        s.reference_number = f"WEB-{rng.getrandbits(32):08X}"
    s.ship_to = rng.choices(range(len(_SHIP_TO_WEIGHTS)), _SHIP_TO_WEIGHTS)[0]
    s.n_planned = s.n_deliveries = rng.choices((1, 2, 3), (62, 27, 11))[0]
    s.doc_type = "ZQT" if s.quote else ("ZOR" if rng.random() < 0.9 else "ZDS")


def initial_state(
    seed: int,
    book: CustomerBook,
    gid: int,
    idx: int,
    n_orders: int,
    start_minute: int,
    history_days: int,
) -> OrderState:
    """Where an order stands when the simulator starts; older orders are further along."""
    rng = random.Random(seed_int(seed, "state", book.customer_number, idx))
    span = history_days * _DAY
    entered = start_minute - span + int((idx + rng.random()) * span / max(n_orders, 1))
    entered = min(entered, start_minute - 1)
    s = OrderState(book.customer_number, idx, gid, order_number(gid, rng.randrange(7)), entered)
    kind = rng.random()
    s.quote = kind < 0.03
    s.cancelled = 0.03 <= kind < 0.07
    _header(rng, book, s)
    last = entered + rng.randint(1, 90)
    if s.cancelled:
        last = entered + rng.randint(30, 3 * _DAY)
    elif not s.quote:
        stuck = rng.random() < 0.1  # backordered: the last delivery waits on stock
        when = entered + rng.randint(_DAY // 5, 5 * _DAY)
        shipped: list[int] = []
        for j in range(s.n_planned):
            if j:
                when += rng.randint(2 * _DAY, 25 * _DAY)
            if when >= start_minute or (stuck and j == s.n_planned - 1):
                break
            shipped.append(when)
            last = when + rng.randint(0, 45)
        s.shipped_at = tuple(shipped)
        if len(shipped) < s.n_planned and rng.random() < 0.06:
            s.on_hold = True
            last += rng.randint(10, 2 * _DAY)
    s.last_changed = max(entered, min(last, start_minute - 1))
    s.anchor_day = eastern_day(s.last_changed).toordinal()
    return s


def new_order_state(
    seed: int, book: CustomerBook, gid: int, idx: int, now: int, spec: OrderSpec | None = None
) -> OrderState:
    """An order placed just now: Open, nothing shipped; from a purchase order if `spec` is given."""
    rng = random.Random(seed_int(seed, "state", book.customer_number, idx))
    s = OrderState(book.customer_number, idx, gid, order_number(gid, rng.randrange(7)), now)
    _header(rng, book, s)
    s.doc_type = "ZOR"
    if spec is not None:
        s.spec = spec
        s.po_number = spec.po_number
        s.end_user_po = spec.end_user_po
        s.reference_number = spec.reference_number
        s.ship_to = 0
        # Every planned delivery ships at least one unit.
        s.n_planned = s.n_deliveries = min(s.n_planned, sum(ln.quantity for ln in spec.lines))
    return s
