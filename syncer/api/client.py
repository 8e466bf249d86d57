"""ScanSourceClient: the Sales Order API's nine operations, typed, over a `Transport`.

Searches (list, summary, serials) take their filters as keyword arguments and come in two
forms: one page (`summary`), or every page streamed one at a time (`iter_summary`). The API
signals the end only by a short page (docs/api.md §5), so a streamed search that does not end is
stopped with an error: after `max_pages` full pages, or at the first full page whose rows were
all on the previous one (an API ignoring `page`).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from datetime import date
from typing import Any, TypedDict, TypeVar, Unpack

from syncer.api import payload
from syncer.api.operation_models import (
    CancelResult,
    OrderSummary,
    PurchaseOrder,
    SalesOrderListRow,
    SerialInfo,
    ShipQuoteRequest,
    ShipQuoteResponse,
    TrackingResponse,
    VrdRequest,
    VrdResponse,
    parse_model,
    parse_rows,
)
from syncer.api.stats import ApiStats
from syncer.api.transport import Admit, Transport
from syncer.errors import PayloadError, PermanentApiError, TransientApiError

T = TypeVar("T")
MAX_PAGE_SIZE = 1000  # documented for serials, assumed for list and summary (docs/api.md §5)
MAX_PAGES = 10_000  # pages one streamed search may read (the api_max_pages setting's default)


class ListFilters(TypedDict, total=False):
    """Filters of the list operation (docs/api.md §3.1); dates are ScanSource's local days."""

    sales_order_number: str
    po_number: str
    end_user_po: str
    shipping_city: str
    reference_number: str
    status: str  # Open, On Hold, Partially Shipped, Completely Shipped, Cancelled, ...
    doc_type: str
    include_schedule_lines: bool
    from_date: date
    to_date: date
    from_last_change_date: date
    to_last_change_date: date


class SummaryFilters(TypedDict, total=False):
    """Filters of the summary operation (docs/api.md §3.2)."""

    sales_order_number: str
    po_number: str
    reference_number: str
    status: str
    doc_type: str
    from_date: date
    to_date: date
    from_last_change_date: date
    to_last_change_date: date
    serial_numbers: Sequence[str]
    mac_addresses: Sequence[str]


class SerialFilters(TypedDict, total=False):
    """Filters of the serial numbers operation (docs/api.md §3.4); dates are billing dates."""

    sales_order_number: str
    po_number: str
    invoice_number: str
    serial_numbers: Sequence[str]
    from_date: date
    to_date: date


@functools.cache
def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class UnusableDetail(PayloadError):
    """A detail that came whole (JSON) but is no order we can read: `body` as received."""

    def __init__(self, message: str, body: bytes) -> None:
        super().__init__(message)
        self.body = body


def api_params(**filters: Any) -> dict[str, str]:
    """snake_case keyword filters → the API's camelCase query parameters; None is left out."""
    out: dict[str, str] = {}
    for name, value in filters.items():
        if value is None:
            continue
        key = _camel(name)  # cached: the detail of every order asks again
        if isinstance(value, bool):  # before str(): Python's True is not the API's true
            out[key] = "true" if value else "false"
        elif isinstance(value, date):
            out[key] = value.isoformat()
        elif isinstance(value, list | tuple):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


class ScanSourceClient:
    def __init__(self, transport: Transport, *, max_pages: int = MAX_PAGES) -> None:
        self.transport = transport
        self.max_pages = max_pages

    @property
    def stats(self) -> ApiStats:
        return self.transport.stats

    async def request(self, operation: str, method: str, path: str, **kwargs: Any) -> bytes:
        return await self.transport.request(operation, method, path, **kwargs)

    async def list_page(
        self, customer_number: str, *, page: int = 1, page_size: int = 100, **filters: Any
    ) -> list[Any]:
        params = api_params(
            customer_number=customer_number, page=page, page_size=page_size, **filters
        )
        rows = await self.transport.request_json("list", "GET", "/list", params=params)
        if not isinstance(rows, list):
            raise TransientApiError("list answered with a non-array body", operation="list")
        return rows

    def iter_list(
        self, customer_number: str, *, page_size: int = 1000, **filters: Any
    ) -> AsyncIterator[list[Any]]:
        """Page by page until a short page: the API gives no total count (docs/api.md §5)."""

        async def fetch(page: int) -> list[Any]:
            return await self.list_page(customer_number, page=page, page_size=page_size, **filters)

        return self._pages("list", fetch, page_size, _raw_order_number)

    async def detail_bytes(
        self,
        customer_number: str,
        sales_order_number: str,
        *,
        exclude_serial_tracking: bool = False,
        admit: Admit | None = None,
    ) -> bytes:
        """The detail as received (to hash and keep), checked to be JSON where it is received
        (a broken body is transient, and retried); `admit` as Transport.request_body takes it."""
        params = api_params(
            customer_number=customer_number,
            sales_order_number=sales_order_number,
            exclude_serial_tracking=exclude_serial_tracking,
        )
        return await self.transport.request_body(
            "detail", "GET", "/detail", params=params, admit=admit
        )

    async def fetch_detail(
        self,
        customer_number: str,
        sales_order_number: str,
        *,
        exclude_serial_tracking: bool = False,
        admit: Admit | None = None,
    ) -> tuple[bytes, payload.Detail]:
        """The detail as received and as read (`syncer.api.payload.decode`), once the transport
        is done with it; UnusableDetail, holding the body, for one that cannot be read."""
        body = await self.detail_bytes(
            customer_number, sales_order_number,
            exclude_serial_tracking=exclude_serial_tracking, admit=admit,
        )  # fmt: skip
        try:
            return body, payload.decode(body)
        except PayloadError as exc:
            raise UnusableDetail(str(exc), body) from None

    # -- typed operations ---------------------------------------------------------------------

    async def list_orders(
        self,
        customer_number: str,
        *,
        page: int = 1,
        page_size: int = 100,
        **filters: Unpack[ListFilters],
    ) -> list[SalesOrderListRow]:
        """One page of the list operation, typed."""
        rows = await self.list_page(customer_number, page=page, page_size=page_size, **filters)
        return parse_rows(SalesOrderListRow, rows, "list")

    def iter_list_orders(
        self,
        customer_number: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        **filters: Unpack[ListFilters],
    ) -> AsyncIterator[list[SalesOrderListRow]]:
        async def fetch(page: int) -> list[SalesOrderListRow]:
            return await self.list_orders(
                customer_number, page=page, page_size=page_size, **filters
            )

        return self._pages("list", fetch, page_size, _order_number)

    async def summary(
        self,
        customer_number: str,
        *,
        page: int = 1,
        page_size: int = 100,
        **filters: Unpack[SummaryFilters],
    ) -> list[OrderSummary]:
        params = api_params(
            customer_number=customer_number, page=page, page_size=page_size, **filters
        )
        data = await self.transport.request_json("summary", "GET", "/summary", params=params)
        return parse_rows(OrderSummary, data, "summary")

    def iter_summary(
        self,
        customer_number: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        **filters: Unpack[SummaryFilters],
    ) -> AsyncIterator[list[OrderSummary]]:
        async def fetch(page: int) -> list[OrderSummary]:
            return await self.summary(customer_number, page=page, page_size=page_size, **filters)

        return self._pages("summary", fetch, page_size, _order_number)

    async def detail(
        self,
        customer_number: str,
        sales_order_number: str,
        *,
        exclude_serial_tracking: bool = False,
    ) -> payload.Detail:
        _, detail = await self.fetch_detail(
            customer_number, sales_order_number, exclude_serial_tracking=exclude_serial_tracking
        )
        return detail

    async def serials(
        self,
        customer_number: str,
        *,
        page: int = 1,
        page_size: int = 100,
        **filters: Unpack[SerialFilters],
    ) -> list[SerialInfo]:
        params = api_params(
            customer_number=customer_number, page=page, page_size=page_size, **filters
        )
        data = await self.transport.request_json("serials", "GET", "/serials", params=params)
        return parse_rows(SerialInfo, data, "serials")

    def iter_serials(
        self,
        customer_number: str,
        *,
        page_size: int = MAX_PAGE_SIZE,
        **filters: Unpack[SerialFilters],
    ) -> AsyncIterator[list[SerialInfo]]:
        async def fetch(page: int) -> list[SerialInfo]:
            return await self.serials(customer_number, page=page, page_size=page_size, **filters)

        return self._pages("serials", fetch, page_size, _serial_key)

    async def tracking(
        self,
        customer_number: str,
        *,
        sales_order_numbers: Sequence[str] = (),
        po_numbers: Sequence[str] = (),
    ) -> TrackingResponse:
        """Deliveries and carrier tracking numbers of these orders and of these POs' orders."""
        if not sales_order_numbers and not po_numbers:
            raise ValueError("tracking needs sales_order_numbers or po_numbers")
        params = api_params(
            customer_number=customer_number,
            sales_order_number=list(sales_order_numbers) or None,
            po_number=list(po_numbers) or None,
        )
        data = await self.transport.request_json("tracking", "GET", "/tracking", params=params)
        return parse_model(TrackingResponse, data, "tracking")

    async def ship_quote(
        self, customer_number: str, request: ShipQuoteRequest
    ) -> ShipQuoteResponse:
        params = api_params(customer_number=customer_number)
        data = await self.transport.request_json(
            "shipquote", "POST", "/shipquote", params=params, json_body=request.to_wire()
        )
        return parse_model(ShipQuoteResponse, data, "shipquote")

    async def vrd(self, customer_number: str, request: VrdRequest) -> VrdResponse:
        """Which vendor-required fields the items need before they can be ordered."""
        params = api_params(customer_number=customer_number)
        data = await self.transport.request_json(
            "vrd", "POST", "/vrd", params=params, json_body=request.to_wire()
        )
        return parse_model(VrdResponse, data, "vrd")

    async def create_order_async(self, customer_number: str, order: PurchaseOrder) -> None:
        """Submit a PO. The API answers 202 with no order number: the order appears later,
        found with `list_orders`/`summary` by `po_number` (`syncer api create --wait` does so).

        Not idempotent, so never retried after it may have reached the API: if the answer is
        lost (timeout, 5xx) the order may exist anyway; look for the PO number before
        submitting it again."""
        params = api_params(customer_number=customer_number)
        await self.transport.request(
            "createasync",
            "POST",
            "/createasync",
            params=params,
            json_body=order.to_wire(),
            check_json=False,
            repeatable=False,
        )

    async def cancel_order(self, customer_number: str, sales_order_number: str) -> CancelResult:
        """Ask to cancel; `result.cancelled` says whether it was (never once anything shipped)."""
        params = api_params(customer_number=customer_number, sales_order_number=sales_order_number)
        data = await self.transport.request_json("cancel", "DELETE", "/cancel", params=params)
        return parse_model(CancelResult, data, "cancel")

    async def _pages(
        self,
        operation: str,
        fetch: Callable[[int], Awaitable[list[T]]],
        page_size: int,
        key: Callable[[T], Hashable],
    ) -> AsyncIterator[list[T]]:
        """Page 1, 2, ... until a short page; empty pages are not yielded. Fails after
        `max_pages` full pages, or at a full page whose rows (by `key`) were all on the previous
        one: offset paging repeats a few rows when rows move between two reads, not a page."""
        previous: set[Hashable] = set()
        for page in range(1, self.max_pages + 1):
            rows = await fetch(page)
            if len(rows) < page_size:
                if rows:
                    yield rows
                return
            keys = {k for k in map(key, rows) if k is not None}
            if keys and keys <= previous:
                raise PermanentApiError(
                    f"{operation}: page {page} repeats page {page - 1} (every row of it was on "
                    "that page): the API seems to ignore `page`; stopped",
                    operation=operation,
                )
            previous = keys
            yield rows
        raise PermanentApiError(
            f"{operation}: still full pages after {self.max_pages:,} pages of {page_size:,} "
            "(api_max_pages): a list that never ends; stopped",
            operation=operation,
        )


def _raw_order_number(row: Any) -> Hashable:
    number = row.get("OrderNumber") if isinstance(row, dict) else None
    return number if isinstance(number, str) else None


def _order_number(row: SalesOrderListRow | OrderSummary) -> Hashable:
    return row.order_number


def _serial_key(row: SerialInfo) -> Hashable:
    return (row.order_number, row.order_line_number, row.serial_number)
