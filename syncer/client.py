"""ScanSourceClient: the Sales Order API's operations, typed, over a `Transport`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from syncer.errors import TransientApiError
from syncer.transport import ApiStats, Transport, parse_json


def api_params(**filters: Any) -> dict[str, str]:
    """snake_case keyword filters → the API's camelCase query parameters; None is left out."""
    out: dict[str, str] = {}
    for name, value in filters.items():
        if value is None:
            continue
        head, *rest = name.split("_")
        key = head + "".join(p[:1].upper() + p[1:] for p in rest)
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, date):
            out[key] = value.isoformat()
        elif isinstance(value, list | tuple):
            out[key] = ",".join(str(v) for v in value)
        else:
            out[key] = str(value)
    return out


class ScanSourceClient:
    def __init__(self, transport: Transport) -> None:
        self.transport = transport

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
        body = await self.transport.request("list", "GET", "/list", params=params)
        rows = parse_json(body, "list")
        if not isinstance(rows, list):
            raise TransientApiError("list answered with a non-array body", operation="list")
        return rows

    async def iter_list(
        self, customer_number: str, *, page_size: int = 1000, **filters: Any
    ) -> AsyncIterator[list[Any]]:
        """Page by page until a short page: the API gives no total count (reference §5)."""
        page = 1
        while True:
            rows = await self.list_page(customer_number, page=page, page_size=page_size, **filters)
            if rows:
                yield rows
            if len(rows) < page_size:
                return
            page += 1

    async def detail_bytes(
        self,
        customer_number: str,
        sales_order_number: str,
        *,
        exclude_serial_tracking: bool = False,
    ) -> bytes:
        params = api_params(
            customer_number=customer_number,
            sales_order_number=sales_order_number,
            exclude_serial_tracking=exclude_serial_tracking,
        )
        body = await self.transport.request("detail", "GET", "/detail", params=params)
        parse_json(body, "detail")  # a broken body is transient: check it here so it is retried
        return body
