"""The nine Sales Order operations (docs/api.md §3), each from (customer, query, body) to
(status, JSON bytes). The app has already checked the caller and the customer number.

Refusals are raised (`BadRequest` 400, `Forbidden` 403, `NotFound` 404) and rendered by the app.
List, summary and serials are searches: no match is `200 []`. Detail, cancel and tracking by
order number address orders: an unknown one is 404, another customer's is 403.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from itertools import islice
from typing import Any

import orjson

from syncer.sim import payloads
from syncer.sim.fields import BadRequest, Body, Forbidden, NotFound, parse_body
from syncer.sim.intake import parse_order
from syncer.sim.lookup import serial_rows, shipped_serials, tracking_order
from syncer.sim.query import (
    ListQuery,
    csv_values,
    matching,
    page_of,
    parse_bool,
    parse_list_query,
    parse_serial_query,
    parse_summary_query,
    unfiltered,
)
from syncer.sim.quotes import ship_quote, vrd
from syncer.sim.simulator import Simulator
from syncer.sim.state import OrderState

Reply = tuple[int, bytes]
Operation = Callable[[str, dict[str, str], bytes], Reply]
MAX_TRACKING_ORDERS = 100


def _ok(body: Any) -> Reply:
    return 200, orjson.dumps(body)


class Operations:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.by_name: dict[str, Operation] = {
            "list": self.order_list,
            "summary": self.summary,
            "detail": self.detail,
            "serials": self.serials,
            "tracking": self.tracking,
            "shipquote": self.ship_quote,
            "vrd": self.vrd,
            "createasync": self.create_async,
            "cancel": self.cancel,
        }
        # The last filtered search's matches, by (customer, query without its page, the
        # simulator's change count): a client reading page after page of one search costs a
        # scan of the account once, not once a page (100,000 orders in pages of 1,000: 100
        # scans of the whole account, seconds of CPU).
        self._last_search: tuple[tuple[object, ...], list[OrderState]] | None = None

    def _owned(self, customer: str, number: str) -> OrderState:
        s = self.sim.find(number)
        if s is None:
            raise NotFound(f"Sales order {number} not found.")
        if s.customer != customer:
            raise Forbidden(f"Sales order {number} does not belong to customer {customer}.")
        return s

    def _candidates(self, customer: str, q: ListQuery) -> Sequence[OrderState]:
        """The orders a search can match, narrowed by its change date when it has one (every
        filter is still applied to them)."""
        since = q.changed[0]
        if since is None:
            return self.sim.orders_of(customer)
        return self.sim.changed_since(customer, since)

    def _page(self, customer: str, q: ListQuery, *, endless: bool = False) -> list[OrderState]:
        """One page of a list or summary search (without serials); `endless`: of the matches
        repeated without end."""
        if unfiltered(q):
            return page_of(self.sim.orders_of(customer), q, endless=endless)
        self.sim.settle()  # the changes due by now count before the key is read
        key = (customer, dataclasses.replace(q, page=1), self.sim.changes)
        if self._last_search is None or self._last_search[0] != key:
            hits = matching(self._candidates(customer, q), q, self.sim.city_of)
            self._last_search = (key, list(hits))
        return page_of(self._last_search[1], q, endless=endless)

    # -- reads ----------------------------------------------------------------------------------

    def order_list(self, customer: str, params: dict[str, str], _: bytes) -> Reply:
        q = parse_list_query(params, self.sim.config.max_page_size)
        faults = self.sim.faults
        served = faults.list_page(q.page)
        if served != q.page:
            q = dataclasses.replace(q, page=served)
        endless = faults.config.list_endless
        if endless:
            faults.injected["list_endless"] += 1
        page = self._page(customer, q, endless=endless)
        return _ok([payloads.list_row(self.sim.view(s), q.include_schedule_lines) for s in page])

    def summary(self, customer: str, params: dict[str, str], _: bytes) -> Reply:
        q = parse_summary_query(params, self.sim.config.max_page_size)
        if not q.by_serial:
            return _ok([payloads.summary_row(self.sim.view(s)) for s in self._page(customer, q)])
        orders = self.sim.orders_with_serials(customer, q.serials, q.macs)

        def shipped(s: OrderState) -> bool:
            serials, macs = shipped_serials(self.sim.view(s))
            return bool(serials & q.serials or macs & q.macs)

        page = page_of(list(matching(orders, q, self.sim.city_of, shipped)), q)
        return _ok([payloads.summary_row(self.sim.view(s)) for s in page])

    def detail(self, customer: str, params: dict[str, str], _: bytes) -> Reply:
        exclude = parse_bool(params, "excludeSerialTracking")
        number = params.get("salesordernumber", "").strip()
        if not number:
            raise BadRequest("salesOrderNumber is required.")
        state = self._owned(customer, number)
        self.sim.detail_hits[number] += 1
        override = self.sim.detail_overrides.get(number)
        if override is not None:  # a test has put its own answer in place of this order's
            return override
        return 200, self.sim.detail_bytes(state, exclude)

    def serials(self, customer: str, params: dict[str, str], _: bytes) -> Reply:
        q = parse_serial_query(params, self.sim.config.max_page_size)
        orders: Sequence[OrderState] = self.sim.orders_of(customer)
        # Narrow the scan by the most selective filter; every filter is still applied below.
        if q.sales_order_number:
            s = self.sim.find(q.sales_order_number)
            orders = [s] if s else []
        elif q.invoice_number:
            found = self.sim.find_invoice(q.invoice_number)
            orders = [found] if found else []
        elif q.serials:
            orders = self.sim.orders_with_serials(customer, q.serials, frozenset())
        lo, hi = q.billed

        def wanted(s: OrderState) -> bool:
            if s.customer != customer or not s.shipped_at:
                return False
            if q.sales_order_number and s.order_number != q.sales_order_number:
                return False
            if q.po_number and s.po_number != q.po_number:
                return False
            return any((lo is None or m >= lo) and (hi is None or m < hi) for m in s.shipped_at)

        rows: Iterator[dict[str, Any]] = (
            row for s in orders if wanted(s) for row in serial_rows(self.sim.view(s), q)
        )
        return _ok(list(islice(rows, (q.page - 1) * q.page_size, q.page * q.page_size)))

    def tracking(self, customer: str, params: dict[str, str], _: bytes) -> Reply:
        numbers = list(dict.fromkeys(csv_values(params, "salesOrderNumber", "salesOrderNumbers")))
        pos = set(csv_values(params, "poNumber", "poNumbers"))
        if not numbers and not pos:
            raise BadRequest("salesOrderNumber or poNumber is required (comma-separated lists).")
        if len(numbers) > MAX_TRACKING_ORDERS:
            raise BadRequest(f"At most {MAX_TRACKING_ORDERS} sales order numbers per call.")
        found = {n: self._owned(customer, n) for n in numbers}
        if pos:
            found.update(
                (s.order_number, s) for s in self.sim.orders_of(customer) if s.po_number in pos
            )
        orders = [found[n] for n in sorted(found)]
        return _ok({"Orders": [tracking_order(self.sim.view(s)) for s in orders]})

    # -- requests that compute or change ----------------------------------------------------------

    def ship_quote(self, customer: str, _: dict[str, str], body: bytes) -> Reply:
        return _ok(ship_quote(parse_body(body), customer, self.sim.items))

    def vrd(self, customer: str, _: dict[str, str], body: bytes) -> Reply:
        return _ok(vrd(parse_body(body), customer, self.sim.items))

    def create_async(self, customer: str, _: dict[str, str], body: bytes) -> Reply:
        default_ship_to = self.sim.default_ship_to(customer)
        spec = parse_order(parse_body(body), default_ship_to, self.sim.items.find)
        self.sim.submit_order(customer, spec)
        return 202, b""  # no order number: callers find the order later by PO number

    def cancel(self, customer: str, params: dict[str, str], body: bytes) -> Reply:
        number = params.get("salesordernumber", "").strip()
        if not number and body.strip():
            number = Body(parse_body(body)).text("SalesOrderNumber") or ""
        if not number:
            raise BadRequest(
                "salesOrderNumber is required (query parameter, or JSON body SalesOrderNumber)."
            )
        s = self._owned(customer, number)
        errors: list[dict[str, str]] = []
        warnings: list[dict[str, str]] = []
        if s.cancelled:
            message = f"Sales order {number} is already cancelled."
            warnings.append({"Code": "AlreadyCancelled", "Message": message})
        elif s.shipped_at:
            errors.append(
                {
                    "Code": "OrderShipped",
                    "Message": f"Sales order {number} has shipped deliveries and cannot be "
                    "cancelled.",
                }
            )
        else:
            self.sim.cancel(customer, number)
        return _ok(
            {
                "SalesOrderNumber": number,
                "OrderRejected": not errors,
                "Errors": errors,
                "Warnings": warnings,
            }
        )
