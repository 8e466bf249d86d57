"""Ground truth: the rows the warehouse should hold for an order, per `syncer.schema` table.

Derived from the order view (not by parsing our own JSON), with the warehouse's Python types:
Decimal for numeric, date for date, aware datetimes for timestamptz.
"""

from __future__ import annotations

from decimal import Decimal

from syncer.sim.books import Address
from syncer.sim.catalog import DELIVERY_SHIPPED
from syncer.sim.clock import wire_time
from syncer.sim.view import OrderView

Row = dict[str, object]

TABLES = (
    "sales_orders",
    "sales_order_lines",
    "sales_order_line_schedules",
    "sales_order_line_serials",
    "sales_order_line_invoices",
    "sales_order_line_tracking_numbers",
    "sales_order_invoices",
    "sales_order_tracking_numbers",
    "deliveries",
    "delivery_parcels",
    "delivery_lines",
    "delivery_line_serials",
)


def _cents(c: int) -> Decimal:
    return Decimal(c).scaleb(-2)


def _address(prefix: str, a: Address) -> Row:
    return {
        f"{prefix}_name": a.name,
        f"{prefix}_attn": a.attn,
        f"{prefix}_street1": a.street1,
        f"{prefix}_street2": a.street2,
        f"{prefix}_city": a.city,
        f"{prefix}_state": a.state,
        f"{prefix}_postal_code": a.postal_code,
        f"{prefix}_country": a.country,
    }


def _header(v: OrderView) -> Row:
    s, p = v.state, v.plan
    return {
        "customer_number": s.customer,
        "sales_order_number": s.order_number,
        "po_number": s.po_number,
        "end_user_po": s.end_user_po,
        "reference_number": s.reference_number,
        "doc_type": s.doc_type,
        "status": v.status,
        "date_entered": wire_time(s.date_entered),
        "last_changed": wire_time(v.last_changed),
        "last_ship_date": v.last_ship_date,
        "memo": p.memo,
        "sales_rep_code": p.rep.code,
        "sales_rep_name": p.rep.name,
        "sales_rep_email": p.rep.email,
        "entered_by_email": p.entered_by_email,
        "shipping_option_description": p.shipping_option,
        "currency": p.currency,
        "freight_amount": _cents(p.freight_cents),
        "insurance_amount": _cents(v.insurance_cents),
        "tax_amount": _cents(v.tax_cents),
        "total": _cents(v.total_cents),
        **_address("billing", v.book.billing),
        **_address("shipping", v.ship_to),
    }


def order_rows(v: OrderView, out: dict[str, list[Row]]) -> None:
    """Append this order's rows to `out` (one list per table in TABLES)."""
    key: Row = {"customer_number": v.state.customer, "sales_order_number": v.state.order_number}
    out["sales_orders"].append(_header(v))
    for lv in v.lines:
        ln, it = lv.plan, lv.plan.item
        line = {**key, "line_number": ln.line_number}
        out["sales_order_lines"].append(
            {
                **line,
                "po_line_number": ln.po_line_number,
                "reference_line_number": ln.reference_line_number,
                "item_number": it.item_number,
                "product_mfr_part": it.mfr_part,
                "customer_part_number": ln.customer_part_number,
                "customer_part_reference": ln.customer_part_reference,
                "product_description": it.description,
                "item_cat_code": it.cat_code,
                "item_cat_desc": it.cat_desc,
                "matl_grp_code": it.matl_code,
                "matl_grp_desc": it.matl_desc,
                "ordered": Decimal(ln.ordered),
                "committed": Decimal(lv.committed),
                "back_ordered": Decimal(lv.back_ordered),
                "shipped": Decimal(lv.shipped),
                "canceled": Decimal(lv.canceled),
                "reject_reason": lv.reject_reason,
                "price": _cents(ln.price_cents),
                "currency": v.plan.currency,
            }
        )
        out["sales_order_line_schedules"].extend(
            {**line, "seq": i, "estimated_ship_date": d, "confirmed": Decimal(q)}
            for i, (d, q) in enumerate(lv.schedules, 1)
        )
        out["sales_order_line_serials"].extend(
            {**line, "serial_number": serial} for serial in lv.serials
        )
    # The wire format carries invoices and tracking numbers per order, never per line.
    out["sales_order_invoices"].extend({**key, "invoice_number": n} for n in v.invoice_numbers)
    out["sales_order_tracking_numbers"].extend(
        {**key, "tracking_number": n} for n in v.tracking_numbers
    )
    for dv in v.deliveries:
        dkey = {**key, "delivery_document_number": dv.plan.delivery_document_number}
        out["deliveries"].append(
            {**dkey, "delivery_status": DELIVERY_SHIPPED, "shipped_date": dv.shipped_date}
        )
        out["delivery_parcels"].extend(
            {
                **dkey,
                "seq": i,
                "carton_number": p.carton_number,
                "carrier_code": p.carrier_code,
                "tracking_type": p.tracking_type,
                "tracking_number": p.tracking_number,
                "weight": _cents(p.weight_hundredths),
                "weight_uom": p.weight_uom,
            }
            for i, p in enumerate(dv.plan.parcels, 1)
        )
        for dl in dv.lines:
            lkey = {**dkey, "delivery_line_number": dl.delivery_line_number}
            q = Decimal(dl.quantity)
            out["delivery_lines"].append(
                {
                    **lkey,
                    "order_line_number": dl.line_number,
                    "item_number": dl.item_number,
                    "quantity_ordered": q,
                    "quantity_picked": q,
                    "quantity_scanned": Decimal(dl.scanned),
                    "quantity_shipped": q,
                    "quantity_canceled": Decimal(0),
                }
            )
            out["delivery_line_serials"].extend(
                {
                    **lkey,
                    "seq": i,
                    "carton_number": d.carton_number,
                    "serial_number": d.serial_number,
                    "mac_address": d.mac[0] if d.mac else None,
                    "mac_address_unformatted": d.mac[1] if d.mac else None,
                }
                for i, d in enumerate(dl.details, 1)
            )
