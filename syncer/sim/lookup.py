"""Serial numbers and tracking (docs/api.md §3.4, §3.5), read from the same order views as the
detail, so the three answers always agree; and the index behind serial and MAC searches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any

from syncer.sim.clock import from_minute
from syncer.sim.codes import seed_int
from syncer.sim.plan import OrderPlan
from syncer.sim.query import SerialQuery
from syncer.sim.state import OrderState
from syncer.sim.view import DeliveryView, OrderView

Json = dict[str, Any]


class SerialIndex:
    """Planned serials and MAC addresses → indexes of one account's orders.

    Plans never gain units, so entries only go stale by not having shipped yet (or by a dropped
    line); callers check the view. Built lazily and extended as orders are added.
    """

    def __init__(self) -> None:
        self._serials: dict[str, list[int]] = {}
        self._macs: dict[str, list[int]] = {}
        self._covered = 0

    def extend(
        self, orders: Sequence[OrderState], plan_of: Callable[[OrderState], OrderPlan]
    ) -> None:
        for s in orders[self._covered :]:
            for d in plan_of(s).deliveries:
                for dl in d.lines:
                    for det in dl.details:
                        if det.serial_number is not None:
                            self._serials.setdefault(det.serial_number.upper(), []).append(s.idx)
                        if det.mac is not None:
                            self._macs.setdefault(det.mac[1].upper(), []).append(s.idx)
        self._covered = len(orders)

    def candidates(self, serials: Iterable[str], macs: Iterable[str]) -> set[int]:
        found = {i for key in serials for i in self._serials.get(key, ())}
        return found | {i for key in macs for i in self._macs.get(key, ())}


def shipped_serials(v: OrderView) -> tuple[set[str], set[str]]:
    """(serials, unformatted MACs) that have shipped on this order, upper-cased."""
    serials: set[str] = set()
    macs: set[str] = set()
    for dv in v.deliveries:
        for dl in dv.lines:
            for det in dl.details:
                if det.serial_number is not None:
                    serials.add(det.serial_number.upper())
                if det.mac is not None:
                    macs.add(det.mac[1].upper())
    return serials, macs


def billing_date(dv: DeliveryView) -> str:
    """When the delivery was billed (the simulator bills on shipping), in .NET's ISO form with
    seven fractional digits and the Eastern offset: `2021-01-19T10:22:35.8032978-05:00`."""
    ticks = seed_int("billing", dv.plan.invoice_number) % 600_000_000  # 100 ns ticks in 60 s
    when = from_minute(dv.shipped_minute) + timedelta(microseconds=ticks // 10)
    offset = when.strftime("%z")
    return f"{when:%Y-%m-%dT%H:%M:%S.%f}{ticks % 10}{offset[:3]}:{offset[3:]}"


def serial_rows(v: OrderView, q: SerialQuery) -> Iterator[Json]:
    """The order's SerialInfo rows that match `q`, in delivery, line and unit order."""
    lo, hi = q.billed
    for dv in v.deliveries:
        if q.invoice_number is not None and dv.plan.invoice_number != q.invoice_number:
            continue
        if lo is not None and dv.shipped_minute < lo:
            continue
        if hi is not None and dv.shipped_minute >= hi:
            continue
        stamp = billing_date(dv)
        for dl in dv.lines:
            line = next(lv.plan for lv in v.lines if lv.plan.line_number == dl.line_number)
            for det in dl.details:
                serial = det.serial_number
                if serial is None or (q.serials and serial.upper() not in q.serials):
                    continue
                yield {
                    "OrderNumber": v.state.order_number,
                    "OrderLineNumber": str(dl.line_number),
                    "PONumber": v.state.po_number,
                    "InvoiceNumber": dv.plan.invoice_number,
                    "ItemNumber": line.item.item_number,
                    "ManufacturerItemNumber": line.item.mfr_part,
                    "Manufacturer": line.item.mfr_code,
                    "SerialNumber": serial,
                    "BillingDate": stamp,
                }


def tracking_order(v: OrderView) -> Json:
    """One order of the tracking answer: its deliveries with their carriers' numbers."""
    return {
        "OrderNumber": v.state.order_number,
        "Deliveries": [
            {
                "DeliveryNumber": dv.plan.delivery_document_number,
                "ShipDate": dv.shipped_date.isoformat(),
                "ShipMethod": v.plan.shipping_option,
                # LTL parcels share one PRO number: list each number once.
                "TrackingNumbers": [
                    {"Carrier": carrier, "TrackingNumber": number}
                    for carrier, number in dict.fromkeys(
                        (p.carrier_code, p.tracking_number) for p in dv.plan.parcels
                    )
                ],
            }
            for dv in v.deliveries
        ],
    }
