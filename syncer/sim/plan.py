"""An order's plan: its lines and every delivery it will ever ship, with parcels and serials.

A pure function of (seed, account book, the order's fixed fields), so it is regenerated on
demand instead of stored; the lifecycle only moves a cursor (`OrderState`) along the plan.
"""

from __future__ import annotations

import dataclasses
import math
import random
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple, TypeVar

from syncer.sim import codes
from syncer.sim.books import CustomerBook, Rep
from syncer.sim.catalog import (
    BEST_WAY_CARRIERS,
    FX,
    MEMOS,
    SERVICE_LEVELS,
    SHIPPING_OPTIONS,
    region_of,
)
from syncer.sim.intake import OrderSpec
from syncer.sim.items import Item
from syncer.sim.state import OrderState, shipping_address

# Weights as cumulative sums: random.choices draws exactly as with the weights, without summing
# them again on every draw (a plan is built for every order the list or detail shows).
_LINE_COUNT_WEIGHTS = tuple(accumulate((30, 18, 13, 9, 7, *(2.6,) * 5, *(0.7,) * 10, *(0.3,) * 10)))
_SERIAL_QTY = (
    (1, 2, 3, 4, 5, 6, 8, 10, 12, 20, 25, 40),
    tuple(accumulate((30, 18, 10, 8, 8, 5, 5, 6, 4, 3, 2, 1))),
)
_BULK_QTY = (
    (1, 2, 5, 10, 12, 20, 24, 50, 100, 250),
    tuple(accumulate((15, 15, 15, 15, 8, 10, 8, 7, 5, 2))),
)
_SPLIT_WEIGHTS = tuple(accumulate((3, 2, 1)))
_TAX_BP = {"US": (0, 0, 0, 600, 725, 825), "CA": (1300, 500), "GB": (2000,), "EU": (1900, 2100)}

T = TypeVar("T")
# _pick, unlike random.choices, does not check that there is a weight for every value.
assert len(_LINE_COUNT_WEIGHTS) == 30 and len(_SPLIT_WEIGHTS) == 3
assert all(len(values) == len(weights) for values, weights in (_SERIAL_QTY, _BULK_QTY))


def _pick(rng: random.Random, values: Sequence[T], cum_weights: Sequence[float]) -> T:
    """`rng.choices(values, cum_weights=cum_weights)[0]`, the same draw at a third of the cost
    (a plan makes about ten such draws, for every order the list or detail shows)."""
    return values[bisect(cum_weights, rng.random() * (cum_weights[-1] + 0.0), 0, len(values) - 1)]


# Plans and views are cached and shared, so never changed once built (`dataclasses.replace`
# makes a changed copy), but not `frozen`: frozen dataclasses set each field through
# object.__setattr__, too slow for every order served.
# docs/decisions/0007-simulator-in-the-package.md
@dataclass(slots=True)
class LinePlan:
    line_number: int
    po_line_number: int
    reference_line_number: str | None
    item: Item
    customer_part_number: str | None
    customer_part_reference: str | None
    ordered: int
    price_cents: int
    per_delivery: tuple[int, ...]  # units of this line in each planned delivery


@dataclass(slots=True)
class ParcelPlan:
    carton_number: str
    carrier_code: str
    tracking_type: str
    tracking_number: str
    weight_hundredths: int
    weight_uom: str


class DetailPlan(NamedTuple):  # one per unit shipped: a tuple is the cheapest to build
    carton_number: str
    serial_number: str | None
    mac: tuple[str, str] | None  # (formatted, unformatted)


@dataclass(slots=True)
class DeliveryLinePlan:
    delivery_line_number: int
    line_number: int
    item_number: str
    quantity: int
    scanned: int
    details: tuple[DetailPlan, ...]


@dataclass(slots=True)
class DeliveryPlan:
    delivery_document_number: str
    invoice_number: str
    lead_days: int  # cumulative days after the schedule anchor, for EstimatedShipDate
    parcels: tuple[ParcelPlan, ...]
    lines: tuple[DeliveryLinePlan, ...]


@dataclass(slots=True)
class OrderPlan:
    currency: str
    memo: str | None
    rep: Rep
    entered_by_email: str
    shipping_option: str
    freight_cents: int
    tax_bp: int  # tax rate in basis points of the line total
    insured: bool
    lines: tuple[LinePlan, ...]
    deliveries: tuple[DeliveryPlan, ...]


def _split(rng: random.Random, qty: int, n: int) -> list[int]:
    parts = [0] * n
    if n == 1 or qty == 1 or rng.random() < 0.6:
        parts[_pick(rng, range(n), _SPLIT_WEIGHTS[:n])] = qty
        return parts
    cuts = sorted(rng.randint(0, qty) for _ in range(n - 1))
    bounds = [0, *cuts, qty]
    return [bounds[i + 1] - bounds[i] for i in range(n)]


def _fill_empty_deliveries(per: list[list[int]], n: int) -> None:
    """Every planned delivery ships something: move single units into empty ones."""
    for j in range(n):
        if any(p[j] for p in per):
            continue
        for k in range(n):
            if sum(p[k] for p in per) >= 2:
                donor = next(p for p in per if p[k])
                donor[k] -= 1
                donor[j] += 1
                break


def _lines(rng: random.Random, items: tuple[Item, ...], currency: str, n: int) -> list[LinePlan]:
    count = _pick(rng, range(1, 31), _LINE_COUNT_WEIGHTS)
    chosen = [rng.choice(items) for _ in range(count)]
    qty = [
        _pick(rng, values, weights)
        for values, weights in (_SERIAL_QTY if it.serialised else _BULK_QTY for it in chosen)
    ]
    if sum(qty) < n:
        qty[0] += n - sum(qty)
    per = [_split(rng, q, n) for q in qty]
    _fill_empty_deliveries(per, n)
    lines = []
    for i, (item, q, split) in enumerate(zip(chosen, qty, per, strict=True)):
        cpn = f"CP-{rng.randint(10000, 99999)}" if rng.random() < 0.25 else None
        lines.append(
            LinePlan(
                line_number=(i + 1) * 10,
                po_line_number=i + 1,
                reference_line_number=f"{(i + 1) * 10:06d}" if rng.random() < 0.5 else None,
                item=item,
                customer_part_number=cpn,
                customer_part_reference=f"PRJ-{rng.randint(100, 999)}"
                if cpn and rng.random() < 0.4
                else None,
                ordered=q,
                price_cents=round(item.price_usd_cents * FX[currency] * rng.uniform(0.86, 1.0)),
                per_delivery=tuple(split),
            )
        )
    return lines


def _spec_lines(
    rng: random.Random, items: tuple[Item, ...], currency: str, n: int, spec: OrderSpec
) -> list[LinePlan]:
    """The lines a purchase order asked for, at the account's prices, split over n deliveries."""
    by_number = {it.item_number: it for it in items}
    per = [_split(rng, ln.quantity, n) for ln in spec.lines]
    _fill_empty_deliveries(per, n)
    lines = []
    for i, (ln, split) in enumerate(zip(spec.lines, per, strict=True)):
        item = by_number[ln.item_number]
        lines.append(
            LinePlan(
                line_number=(i + 1) * 10,
                po_line_number=ln.po_line_number,
                reference_line_number=f"{(i + 1) * 10:06d}",
                item=item,
                customer_part_number=None,
                customer_part_reference=None,
                ordered=ln.quantity,
                price_cents=round(item.price_usd_cents * FX[currency] * rng.uniform(0.86, 1.0)),
                per_delivery=tuple(split),
            )
        )
    return lines


def shipping_option(region: str, code: str) -> tuple[str, str | None, str] | None:
    """The region's shipping option with this service-level code (case-insensitive)."""
    for option in SHIPPING_OPTIONS[region]:
        if SERVICE_LEVELS[option[0]].casefold() == code.casefold():
            return option
    return None


def _parcels(
    rng: random.Random, gid: int, j: int, carrier: str, service: str, weight_lb: float, region: str
) -> tuple[ParcelPlan, ...]:
    ltl = service == "LTL"
    count = (
        rng.randint(1, 3) if ltl else min(8, max(1, math.ceil(weight_lb / 45) + rng.randint(-1, 1)))
    )
    metric = region in ("GB", "EU")
    parcels = []
    for p in range(count):
        lb = weight_lb / count * rng.uniform(0.85, 1.15) + 0.4 + (40 if ltl else 0)
        hundredths = max(10, round((lb * 0.4536 if metric else lb) * 100))
        if rng.random() < 0.5:
            hundredths = max(10, round(hundredths, -1))  # one decimal place
        parcels.append(
            ParcelPlan(
                carton_number=codes.carton_number(gid, j, p),
                carrier_code=carrier,
                tracking_type=service,
                tracking_number=codes.tracking_number(carrier, service, gid, j, 0 if ltl else p),
                weight_hundredths=hundredths,
                weight_uom="KG" if metric else "LB",
            )
        )
    return tuple(parcels)


def build_plan(seed: int, book: CustomerBook, items: tuple[Item, ...], s: OrderState) -> OrderPlan:
    """Reads only the fields of `s` that never change after the order is created."""
    rng = random.Random(codes.seed_int(seed, "plan", s.customer, s.idx))
    spec = s.spec
    region = region_of(shipping_address(s, book).country)
    currency = book.currencies[s.ship_to] if spec is None else spec.currency
    option, option_carrier, service = rng.choice(SHIPPING_OPTIONS[region])
    code = spec.ship_method_code if spec else None
    chosen = shipping_option(region, code) if code else None
    if chosen is not None:
        option, option_carrier, service = chosen
    n = s.n_planned
    if spec is None:
        lines = _lines(rng, items, currency, n)
    else:
        lines = _spec_lines(rng, items, currency, n, spec)
    deliveries = []
    unit = 0  # counts units across the whole order, so serials never repeat within it
    lead = rng.randint(1, 4)
    for j in range(n):
        if j:
            lead += rng.randint(4, 30)
        carrier = option_carrier or rng.choice(BEST_WAY_CARRIERS[region])
        mine = [(ln, ln.per_delivery[j]) for ln in lines if ln.per_delivery[j]]
        weight = sum(ln.item.weight_lb * q for ln, q in mine)
        parcels = _parcels(rng, s.gid, j, carrier, service, weight, region)
        total_units = sum(q for _, q in mine)
        pos = 0
        dlines = []
        for k, (ln, q) in enumerate(mine):
            details: list[DetailPlan] = []
            if ln.item.serialised:
                numbers = codes.unit_numbers(ln.item.serial_prefix, ln.item.oui, s.gid, unit, q)
                cartons = len(parcels)
                details = [
                    DetailPlan(parcels[(pos + u) * cartons // total_units].carton_number, *unit_no)
                    for u, unit_no in enumerate(numbers)
                ]
            elif rng.random() < 0.35:
                carton = parcels[pos * len(parcels) // total_units].carton_number
                details.append(DetailPlan(carton, None, None))
            dlines.append(
                DeliveryLinePlan(
                    delivery_line_number=(k + 1) * 10,
                    line_number=ln.line_number,
                    item_number=ln.item.item_number,
                    quantity=q,
                    scanned=q if ln.item.serialised else 0,
                    details=tuple(details),
                )
            )
            pos += q
            unit += q
        deliveries.append(
            DeliveryPlan(
                delivery_document_number=codes.delivery_number(s.gid, j),
                invoice_number=codes.invoice_number(s.gid, j),
                lead_days=lead,
                parcels=parcels,
                lines=tuple(dlines),
            )
        )
    subtotal_usd = sum(ln.price_cents * ln.ordered for ln in lines) / FX[currency] / 100
    if service == "LTL":
        freight = rng.randint(15000, 60000)
    elif rng.random() < 0.35:
        freight = 0
    else:
        freight = round(min(subtotal_usd * 0.02, 400) * FX[currency] * 100) + 995
    plan = OrderPlan(
        currency=currency,
        memo=rng.choice(MEMOS) if rng.random() < 0.3 else None,
        rep=rng.choice(book.reps),
        entered_by_email=rng.choice(book.buyers),
        shipping_option=option,
        freight_cents=freight,
        tax_bp=rng.choice(_TAX_BP[region]),
        insured=rng.random() < 0.1,
        lines=tuple(lines),
        deliveries=tuple(deliveries),
    )
    if spec is not None:
        buyer = spec.entered_by_email or plan.entered_by_email
        plan = dataclasses.replace(plan, memo=spec.memo, entered_by_email=buyer)
    return plan
