"""Pure: a parsed order → one tuple per warehouse row, in each table's column order.

Tuples (not dicts) because they go straight into COPY. Structural problems a database constraint
would reject later (duplicate line numbers, missing keys, negative quantities) are caught here,
with a reason a person can act on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from syncer.api.models import Address, OrderListRow, SalesOrderDetail, UnreadableDate
from syncer.errors import PayloadError
from syncer.warehouse import schema

Row = tuple[Any, ...]

# sales_orders columns we write; first_seen_at and synced_at are set by the database.
HEADER_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in schema.sales_orders.columns if c.name not in ("first_seen_at", "synced_at")
)
CHILD_COLUMNS: dict[str, tuple[str, ...]] = {
    t.name: tuple(c.name for c in t.columns) for t in schema.CHILD_TABLES
}


@dataclass(frozen=True, slots=True)
class OrderRows:
    customer_number: str
    sales_order_number: str
    status: str | None
    content_hash: str
    header: Row
    children: dict[str, list[Row]]
    # Dates stored as NULL because their text was in no form we know (the run counts them).
    unreadable_dates: tuple[UnreadableDate, ...] = ()

    def row_count(self) -> int:
        return 1 + sum(len(rows) for rows in self.children.values())

    def rows_by_table(self) -> list[tuple[str, int]]:
        """The rows of `row_count`, by table: the header's, then each child table's."""
        return [("sales_orders", 1), *((t, len(rows)) for t, rows in self.children.items())]


def content_hash(raw: bytes) -> str:
    """Hash of the detail exactly as received: equal bytes, nothing to write."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def _address(a: Address | None) -> Row:
    if a is None:
        return (None,) * 8
    return (a.name, a.attn, a.street1, a.street2, a.city, a.state, a.postal_code, a.country)


def _check_quantities(where: str, values: Iterable[tuple[str, Decimal | None]]) -> None:
    for name, value in values:
        if value is not None and value < 0:
            raise PayloadError(f"{where}: {name} is negative ({value})")


def unique(values: Sequence[str]) -> Sequence[str]:
    return values if len(values) < 2 else list(dict.fromkeys(values))


def stored_raw(raw: bytes) -> str:
    """The detail as sales_orders.raw keeps it: text, without the NULs Postgres cannot hold."""
    return raw.decode("utf-8", errors="replace").replace("\\u0000", "")


def unusable(
    listed: OrderListRow, sales_order_number: str | None, status: str | None, lines: int
) -> str | None:
    """Why a detail is not a usable order, or None when it is.

    A usable detail names the order asked for (its SalesOrderNumber is the listed OrderNumber),
    has a Status (every order has one, API reference §8), and has lines whenever the list row
    shows the order with lines. Nothing else is required: a null or missing array is an empty
    one (§10), and an order may have no deliveries, invoices or tracking numbers yet. What fails
    this (`{}`, a detail holding only its number, one whose header or lines are gone) is not
    loaded over the order held: the order is recorded as failed and fetched again next run.
    Both paths to rows (`build_rows`, `detail_rows`) ask this, with the detail's fields.
    """
    order_no = listed.order_number
    if sales_order_number and sales_order_number != order_no:
        shown = repr(sales_order_number[:40]) + ("…" if len(sales_order_number) > 40 else "")
        return f"not a usable order: the detail is for order {shown}, not {order_no!r}"
    missing = []
    if not sales_order_number:
        missing.append("SalesOrderNumber")
    if not (status and status.strip()):
        missing.append("Status")
    if not lines and listed.line_count:
        missing.append(f"SalesOrderLines (the list shows {listed.line_count})")
    return f"not a usable order: the detail has no {', no '.join(missing)}" if missing else None


def build_rows(
    customer_number: str,
    listed: OrderListRow,
    detail: SalesOrderDetail,
    raw: bytes,
    fetched_at: datetime,
) -> OrderRows:
    order_no = listed.order_number
    if not order_no:
        raise PayloadError("order has no number")
    reason = unusable(listed, detail.sales_order_number, detail.status, len(detail.lines))
    if reason is not None:
        raise PayloadError(reason)
    key = (customer_number, order_no)
    digest = content_hash(raw)
    header: Row = (
        *key,
        detail.po_number,
        detail.end_user_po,
        detail.reference_number,
        detail.doc_type,
        detail.status,
        listed.date_entered,
        listed.last_changed,
        detail.last_ship_date,
        detail.memo,
        detail.sales_rep_code,
        detail.sales_rep_name,
        detail.sales_rep_email,
        detail.entered_by_email,
        detail.shipping_option_description,
        detail.currency,
        detail.freight_amount,
        detail.insurance_amount,
        detail.tax_amount,
        detail.total,
        *_address(detail.billing_address),
        *_address(detail.shipping_address),
        digest,
        stored_raw(raw),
        fetched_at,
    )
    children: dict[str, list[Row]] = {name: [] for name in CHILD_COLUMNS}
    _line_rows(key, detail, children)
    _delivery_rows(key, detail, children)
    children["sales_order_invoices"] = [(*key, v) for v in unique(detail.invoice_numbers)]
    children["sales_order_tracking_numbers"] = [(*key, v) for v in unique(detail.tracking_numbers)]
    return OrderRows(
        customer_number, order_no, header[6], digest, header, children, detail.unreadable_dates
    )


def _line_rows(key: tuple[str, str], detail: SalesOrderDetail, out: dict[str, list[Row]]) -> None:
    seen: set[int] = set()
    for i, line in enumerate(detail.lines, start=1):
        n = line.line_number
        if n is None:
            raise PayloadError(f"SalesOrderLines.{i}: no LineNumber")
        if n in seen:
            raise PayloadError(f"SalesOrderLines.{i}: duplicate LineNumber {n}")
        seen.add(n)
        _check_quantities(
            f"line {n}",
            (
                ("Ordered", line.ordered),
                ("Committed", line.committed),
                ("BackOrdered", line.back_ordered),
                ("Shipped", line.shipped),
                ("Canceled", line.canceled),
            ),
        )
        out["sales_order_lines"].append(
            (
                *key,
                n,
                line.po_line_number,
                line.reference_line_number,
                line.item_number,
                line.product_mfr_part,
                line.customer_part_number,
                line.customer_part_reference,
                line.product_description,
                line.item_cat_code,
                line.item_cat_desc,
                line.matl_grp_code,
                line.matl_grp_desc,
                line.ordered,
                line.committed,
                line.back_ordered,
                line.shipped,
                line.canceled,
                line.reject_reason,
                line.price,
                line.currency,
            )
        )
        out["sales_order_line_schedules"].extend(
            (*key, n, seq, s.estimated_ship_date, s.confirmed)
            for seq, s in enumerate(line.schedule_lines, start=1)
        )
        out["sales_order_line_serials"].extend((*key, n, v) for v in unique(line.serial_numbers))
        out["sales_order_line_invoices"].extend((*key, n, v) for v in unique(line.invoice_numbers))
        out["sales_order_line_tracking_numbers"].extend(
            (*key, n, v) for v in unique(line.tracking_numbers)
        )


def _delivery_rows(
    key: tuple[str, str], detail: SalesOrderDetail, out: dict[str, list[Row]]
) -> None:
    seen: set[str] = set()
    for i, d in enumerate(detail.deliveries, start=1):
        doc = d.delivery_document_number
        if not doc:
            raise PayloadError(f"Deliveries.{i}: no DeliveryDocumentNumber")
        if doc in seen:
            raise PayloadError(f"Deliveries.{i}: duplicate DeliveryDocumentNumber {doc}")
        seen.add(doc)
        out["deliveries"].append((*key, doc, d.delivery_status, d.shipped_date))
        out["delivery_parcels"].extend(
            (*key, doc, seq, p.carton_number, p.carrier_code, p.tracking_type,
             p.tracking_number, p.weight, p.weight_uom)
            for seq, p in enumerate(d.parcels, start=1)
        )  # fmt: skip
        lines_seen: set[int] = set()
        for j, li in enumerate(d.line_items, start=1):
            n = li.delivery_line_number
            if n is None:
                raise PayloadError(f"delivery {doc} LineItems.{j}: no DeliveryDocumentLineNumber")
            if n in lines_seen:
                raise PayloadError(f"delivery {doc}: duplicate DeliveryDocumentLineNumber {n}")
            lines_seen.add(n)
            _check_quantities(
                f"delivery {doc} line {n}",
                (
                    ("QuantityOrdered", li.quantity_ordered),
                    ("QuantityPicked", li.quantity_picked),
                    ("QuantityScanned", li.quantity_scanned),
                    ("QuantityShipped", li.quantity_shipped),
                    ("QuantityCanceled", li.quantity_canceled),
                ),
            )
            out["delivery_lines"].append(
                (*key, doc, n, li.order_line_number, li.item_number, li.quantity_ordered,
                 li.quantity_picked, li.quantity_scanned, li.quantity_shipped,
                 li.quantity_canceled)
            )  # fmt: skip
            out["delivery_line_serials"].extend(
                (*key, doc, n, seq, x.carton_number, x.serial_number, x.mac_address,
                 x.mac_address_unformatted)
                for seq, x in enumerate(li.details, start=1)
            )  # fmt: skip
