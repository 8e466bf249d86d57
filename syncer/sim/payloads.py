"""Order views rendered in the API's exact JSON shapes (docs/api.md §3.1 list row, §3.2 summary
row, §3.3 detail).

Amounts are kept in cents and emitted as floats (`12.5`), quantities as ints, as the real API
sends numbers; key order follows the reference so a diff against it reads naturally.
"""

from __future__ import annotations

from typing import Any

from syncer.sim.books import Address
from syncer.sim.catalog import DELIVERY_SHIPPED
from syncer.sim.clock import format_us
from syncer.sim.view import DeliveryView, LineView, OrderView

Json = dict[str, Any]


def _money(cents: int) -> float:
    return cents / 100


def address(a: Address) -> Json:
    return {
        "Name": a.name,
        "Attn": a.attn,
        "Street1": a.street1,
        "Street2": a.street2,
        "City": a.city,
        "State": a.state,
        "PostalCode": a.postal_code,
        "Country": a.country,
    }


def _schedules(lv: LineView) -> list[Json]:
    return [{"EstimatedShipDate": d.isoformat(), "Confirmed": q} for d, q in lv.schedules]


def _list_line(lv: LineView, currency: str, with_schedules: bool) -> Json:
    ln = lv.plan
    row: Json = {
        "LineNumber": ln.line_number,
        "POLineNumber": ln.po_line_number,
        "ItemNumber": ln.item.item_number,
        "ProductMfrPart": ln.item.mfr_part,
        "Ordered": ln.ordered,
        "Committed": lv.committed,
        "BackOrdered": lv.back_ordered,
        "Shipped": lv.shipped,
        "Canceled": lv.canceled,
        "Price": _money(ln.price_cents),
        "Currency": currency,
    }
    if with_schedules:
        row["ScheduleLines"] = _schedules(lv)
    return row


def list_row(v: OrderView, with_schedules: bool) -> Json:
    s, p = v.state, v.plan
    return {
        "OrderNumber": s.order_number,
        "PONumber": s.po_number,
        "EndUserPO": s.end_user_po,
        "ReferenceNumber": s.reference_number,
        "DocType": s.doc_type,
        "SalesRepCode": p.rep.code,
        "Status": v.status,
        "BillingAddress": address(v.book.billing),
        "ShippingAddress": address(v.ship_to),
        "ShippingOptionDescription": p.shipping_option,
        "FreightAmount": _money(p.freight_cents),
        "EnteredByEmail": p.entered_by_email,
        "Total": _money(v.total_cents),
        "Currency": p.currency,
        "SalesOrderLines": [_list_line(lv, p.currency, with_schedules) for lv in v.lines],
        "DateEntered": format_us(s.date_entered),
        "LastChanged": format_us(v.last_changed),
    }


def summary_row(v: OrderView) -> Json:
    """OrderSummary (§3.2): the list row's header, without addresses or lines."""
    s = v.state
    return {
        "OrderNumber": s.order_number,
        "PONumber": s.po_number,
        "DocType": s.doc_type,
        "Status": v.status,
        "Total": _money(v.total_cents),
        "DateEntered": format_us(s.date_entered),
        "LastChanged": format_us(v.last_changed),
    }


def _detail_line(lv: LineView, currency: str, exclude: bool) -> Json:
    ln, it = lv.plan, lv.plan.item
    return {
        "LineNumber": ln.line_number,
        "POLineNumber": ln.po_line_number,
        "ReferenceLineNumber": ln.reference_line_number,
        "ItemNumber": it.item_number,
        "ProductMfrPart": it.mfr_part,
        "CustomerPartNumber": ln.customer_part_number,
        "CustomerPartReference": ln.customer_part_reference,
        "ProductDescription": it.description,
        "ItemCatCode": it.cat_code,
        "ItemCatDesc": it.cat_desc,
        "MatlGrpCode": it.matl_code,
        "MatlGrpDesc": it.matl_desc,
        "Ordered": ln.ordered,
        "Committed": lv.committed,
        "BackOrdered": lv.back_ordered,
        "Shipped": lv.shipped,
        "Canceled": lv.canceled,
        "RejectReason": lv.reject_reason,
        "Price": _money(ln.price_cents),
        "Currency": currency,
        "SerialNumbers": [] if exclude else list(lv.serials),
        "ScheduleLines": _schedules(lv),
    }


def _delivery(dv: DeliveryView, exclude: bool) -> Json:
    return {
        "DeliveryDocumentNumber": dv.plan.delivery_document_number,
        "DeliveryStatus": DELIVERY_SHIPPED,
        "Parcels": [
            {
                "CartonNumber": p.carton_number,
                "CarrierCode": p.carrier_code,
                "TrackingType": p.tracking_type,
                "TrackingNumber": None if exclude else p.tracking_number,
                "Weight": p.weight_hundredths / 100,
                "WeightUOM": p.weight_uom,
            }
            for p in dv.plan.parcels
        ],
        "LineItems": [
            {
                "DeliveryDocumentLineNumber": dl.delivery_line_number,
                "OrderLineNumber": dl.line_number,
                "ItemNumber": dl.item_number,
                "QuantityOrdered": dl.quantity,
                "QuantityPicked": dl.quantity,
                "QuantityScanned": dl.scanned,
                "QuantityShipped": dl.quantity,
                "QuantityCanceled": 0,
                "LineItemDetails": []
                if exclude
                else [
                    {
                        "CartonNumber": d.carton_number,
                        "SerialNumber": d.serial_number,
                        "MACAddress": d.mac[0] if d.mac else None,
                        "MACAddressUnformatted": d.mac[1] if d.mac else None,
                    }
                    for d in dl.details
                ],
            }
            for dl in dv.lines
        ],
        "ShippedDate": dv.shipped_date.isoformat(),
    }


def detail(v: OrderView, exclude_serial_tracking: bool) -> Json:
    s, p, ex = v.state, v.plan, exclude_serial_tracking
    return {
        "SalesOrderNumber": s.order_number,
        "BillingAddress": address(v.book.billing),
        "ShippingAddress": address(v.ship_to),
        "PONumber": s.po_number,
        "EndUserPO": s.end_user_po,
        "ReferenceNumber": s.reference_number,
        "DocType": s.doc_type,
        "Status": v.status,
        "LastShipDate": v.last_ship_date.isoformat() if v.last_ship_date else None,
        "Memo": p.memo,
        "SalesRepCode": p.rep.code,
        "SalesRepName": p.rep.name,
        "SalesRepEmail": p.rep.email,
        "InsuranceAmount": _money(v.insurance_cents),
        "TaxAmount": _money(v.tax_cents),
        "Total": _money(v.total_cents),
        "Currency": p.currency,
        "EnteredByEmail": p.entered_by_email,
        "ShippingOptionDescription": p.shipping_option,
        "FreightAmount": _money(p.freight_cents),
        "SalesOrderLines": [_detail_line(lv, p.currency, ex) for lv in v.lines],
        "InvoiceNumbers": list(v.invoice_numbers),
        "TrackingNumbers": [] if ex else list(v.tracking_numbers),
        "Deliveries": [_delivery(dv, ex) for dv in v.deliveries],
    }
