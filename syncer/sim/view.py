"""An order as it stands now: plan + state resolved into quantities, schedules and shipments.

Payloads and ground truth both render from this one view, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from syncer.sim.books import Address, CustomerBook
from syncer.sim.catalog import REJECT_REASON_CANCELLED
from syncer.sim.clock import eastern_day
from syncer.sim.plan import DeliveryLinePlan, DeliveryPlan, LinePlan, OrderPlan
from syncer.sim.state import OrderState, shipping_address, status_of


# Not frozen, though never changed once built: see `syncer.sim.plan.LinePlan`.
@dataclass(slots=True)
class LineView:
    plan: LinePlan
    shipped: int
    committed: int
    back_ordered: int
    canceled: int
    reject_reason: str | None
    schedules: tuple[tuple[date, int], ...]
    serials: tuple[str, ...]


@dataclass(slots=True)
class DeliveryView:
    plan: DeliveryPlan
    lines: tuple[DeliveryLinePlan, ...]
    shipped_minute: int  # epoch minute of shipment (and of billing: the sim invoices on shipping)

    @property
    def shipped_date(self) -> date:
        return eastern_day(self.shipped_minute)


@dataclass(slots=True)
class OrderView:
    state: OrderState
    book: CustomerBook
    plan: OrderPlan
    ship_to: Address
    status: str
    last_changed: int
    lines: tuple[LineView, ...]
    deliveries: tuple[DeliveryView, ...]
    invoice_numbers: tuple[str, ...]
    tracking_numbers: tuple[str, ...]
    tax_cents: int
    insurance_cents: int
    total_cents: int
    last_ship_date: date | None


def effective_deliveries(
    plan: OrderPlan, dropped: frozenset[int]
) -> list[tuple[int, DeliveryPlan]]:
    """Planned deliveries that still carry a line; dropping lines can empty a future one."""
    return [
        (j, d)
        for j, d in enumerate(plan.deliveries)
        if any(dl.line_number not in dropped for dl in d.lines)
    ]


def build_view(s: OrderState, book: CustomerBook, plan: OrderPlan) -> OrderView:
    eff = effective_deliveries(plan, s.dropped)
    k = len(s.shipped_at)
    shipped, pending = eff[:k], eff[k:]
    first_lead = plan.deliveries[0].lead_days
    shipped_serials: dict[int, dict[str, None]] = {}  # by line, in shipping order, each once
    for _, d in shipped:
        for dl in d.lines:
            for det in dl.details:
                if det.serial_number is not None:
                    shipped_serials.setdefault(dl.line_number, {})[det.serial_number] = None
    lines = []
    shipped_j = [j for j, _ in shipped]
    for ln in plan.lines:
        if ln.line_number in s.dropped:
            continue
        done = sum(map(ln.per_delivery.__getitem__, shipped_j))
        serials = shipped_serials.get(ln.line_number, {})
        if s.cancelled:
            committed = back = 0
            canceled = ln.ordered - done
            schedules: tuple[tuple[date, int], ...] = ()
        else:
            canceled = 0
            committed = ln.per_delivery[pending[0][0]] if pending else 0
            back = sum(ln.per_delivery[j] for j, _ in pending[1:])
            base = pending[0][1].lead_days if pending else 0
            schedules = tuple(
                (
                    date.fromordinal(s.anchor_day + first_lead + d.lead_days - base),
                    ln.per_delivery[j],
                )
                for j, d in pending
                if ln.per_delivery[j]
            )
        lines.append(
            LineView(
                plan=ln,
                shipped=done,
                committed=committed,
                back_ordered=back,
                canceled=canceled,
                reject_reason=REJECT_REASON_CANCELLED if canceled else None,
                schedules=schedules,
                serials=tuple(serials),
            )
        )
    deliveries = tuple(
        DeliveryView(
            plan=d,
            lines=tuple(dl for dl in d.lines if dl.line_number not in s.dropped)
            if s.dropped
            else d.lines,
            shipped_minute=minute,
        )
        for (_, d), minute in zip(shipped, s.shipped_at, strict=True)
    )
    line_total = sum(lv.plan.price_cents * lv.plan.ordered for lv in lines)
    tax = round(line_total * plan.tax_bp / 10_000)
    insurance = round(line_total * 0.003) if plan.insured else 0
    tracking = dict.fromkeys(p.tracking_number for d in deliveries for p in d.plan.parcels)
    return OrderView(
        state=s,
        book=book,
        plan=plan,
        ship_to=shipping_address(s, book),
        status=status_of(s),
        last_changed=s.last_changed,
        lines=tuple(lines),
        deliveries=deliveries,
        invoice_numbers=tuple(d.plan.invoice_number for d in deliveries),
        tracking_numbers=tuple(tracking),
        tax_cents=tax,
        insurance_cents=insurance,
        total_cents=line_total + plan.freight_cents + tax + insurance,
        last_ship_date=eastern_day(max(s.shipped_at)) if s.shipped_at else None,
    )
