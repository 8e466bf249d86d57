"""What every warehouse table and column means: the text of their database comments.

BI tools (Metabase, Superset, Power BI) show these comments next to the columns, so an analyst
need not read Python. `schema.py` attaches them to the metadata (Alembic then compares them with
the database), the migrations write them, and docs/schema.md repeats them word for word — a test
holds the three together. Where each value comes from in the API is in docs/schema.md.
"""

from __future__ import annotations

_ORDER_KEY = {
    "customer_number": "ScanSource account (customer number) the order belongs to.",
    "sales_order_number": "ScanSource sales order number; with customer_number, the order's key.",
}


def _address(prefix: str, what: str) -> dict[str, str]:
    parts = {
        "name": "company or person name",
        "attn": "attention line",
        "street1": "street, first line",
        "street2": "street, second line",
        "city": "city",
        "state": "state, province or region code",
        "postal_code": "postal code",
        "country": "country code",
    }
    return {f"{prefix}_{k}": f"{what} address: {v}." for k, v in parts.items()}


def _child(parent: str) -> dict[str, str]:
    return {
        "customer_number": (
            f"Account of the order; with the other key columns, references {parent}."
        ),
        "sales_order_number": (
            f"Sales order number; with the other key columns, references {parent}."
        ),
    }


_LINE = "Order line number; with the order key, references sales_order_lines."
_DELIVERY = "Delivery document number; with the order key, references deliveries."

TABLES: dict[str, str] = {
    "sales_orders": "One row per sales order of an account: header, amounts and addresses.",
    "sales_order_lines": "One row per line of a sales order: item, quantities and price.",
    "sales_order_line_schedules": "Estimated ship dates and confirmed quantities of a line.",
    "sales_order_line_serials": "Serial numbers listed on an order line.",
    "sales_order_line_invoices": (
        "Invoice numbers listed on an order line, when the API sends them."
    ),
    "sales_order_line_tracking_numbers": (
        "Tracking numbers listed on an order line, when the API sends them."
    ),
    "sales_order_invoices": "Invoice numbers of an order (one per invoiced shipment).",
    "sales_order_tracking_numbers": "Tracking numbers of an order, over all its parcels.",
    "deliveries": "Deliveries (shipments) of an order.",
    "delivery_parcels": "Parcels (cartons) of a delivery, with carrier and tracking number.",
    "delivery_lines": "Lines of a delivery: which order line shipped, and how many units.",
    "delivery_line_serials": "Serial numbers and MAC addresses shipped on a delivery line.",
    "sales_order_status_history": "Every order status change the syncer observed.",
    "sync_state": "Where each account's sync stands: its watermark.",
    "sync_runs": "One row per sync run of an account: outcome, counts and API calls.",
    "sync_failures": (
        "Orders that could not be fetched or loaded; every run retries the open ones "
        "(resolution empty)."
    ),
    "sync_locks": "One row per account, locked by a run when a reader holds its advisory lock.",
}

COLUMNS: dict[str, dict[str, str]] = {
    "sales_orders": {
        **_ORDER_KEY,
        "po_number": "Reseller's purchase order number.",
        "end_user_po": "End customer's purchase order number.",
        "reference_number": "Reseller's own reference for the order (e.g. a web order id).",
        "doc_type": "Document type: ZOR standard order, ZDS drop shipment, ZQT quotation.",
        "status": (
            "Order status: Open, On Hold, Partially Shipped, Completely Shipped, Cancelled "
            "or Quotation/Sales."
        ),
        "date_entered": "When the order was entered (ScanSource local time, stored as an instant).",
        "last_changed": "When ScanSource last changed the order (minute precision).",
        "last_ship_date": "Date of the order's latest shipment.",
        "memo": "Free-text memo on the order.",
        "sales_rep_code": "ScanSource sales rep: code.",
        "sales_rep_name": "ScanSource sales rep: name.",
        "sales_rep_email": "ScanSource sales rep: e-mail address.",
        "entered_by_email": "E-mail address of whoever entered the order.",
        "shipping_option_description": "Shipping method chosen, e.g. UPS Ground.",
        "currency": "Currency of the order's amounts (ISO 4217 code).",
        "freight_amount": "Freight charged, in the order's currency.",
        "insurance_amount": "Insurance charged, in the order's currency.",
        "tax_amount": "Tax charged, in the order's currency.",
        "total": "Order total as the API reports it, in the order's currency.",
        **_address("billing", "Billing"),
        **_address("shipping", "Ship-to"),
        "content_hash": "Hash of the detail payload as received; equal hash, nothing to write.",
        "raw": "The detail payload as received (JSON), including fields not modelled here.",
        "detail_fetched_at": "When the syncer fetched the detail now stored.",
        "first_seen_at": "When the syncer first stored the order.",
        "synced_at": "When the syncer last wrote the order.",
    },
    "sales_order_lines": {
        **_child("sales_orders"),
        "line_number": "Line number within the order (e.g. 10, 20, 30).",
        "po_line_number": "Line number on the reseller's purchase order.",
        "reference_line_number": "Reseller's own reference for the line.",
        "item_number": "ScanSource item number.",
        "product_mfr_part": "Manufacturer part number.",
        "customer_part_number": "Reseller's own part number for the item.",
        "customer_part_reference": "Reseller's reference for its part (e.g. a project).",
        "product_description": "Product description.",
        "item_cat_code": "Item category code (e.g. ZSER serialized, ZTAN standard).",
        "item_cat_desc": "Item category description.",
        "matl_grp_code": "Material group (product family) code.",
        "matl_grp_desc": "Material group (product family) description.",
        "ordered": "Units ordered.",
        "committed": "Units allocated to the next shipment.",
        "back_ordered": "Units on backorder: waiting for stock, not yet committed.",
        "shipped": "Units shipped so far.",
        "canceled": "Units cancelled.",
        "reject_reason": "Why units of the line were rejected or cancelled.",
        "price": "Unit price, in the line's currency.",
        "currency": "Currency of the line's price (ISO 4217 code).",
    },
    "sales_order_line_schedules": {
        **_child("sales_order_lines"),
        "line_number": _LINE,
        "seq": "Position of the schedule line within the line (1, 2, ...).",
        "estimated_ship_date": "Date ScanSource expects to ship these units.",
        "confirmed": "Units confirmed for that date.",
    },
    "sales_order_line_serials": {
        **_child("sales_order_lines"),
        "line_number": _LINE,
        "serial_number": "A serial number shipped on the line.",
    },
    "sales_order_line_invoices": {
        **_child("sales_order_lines"),
        "line_number": _LINE,
        "invoice_number": "An invoice number listed on the line.",
    },
    "sales_order_line_tracking_numbers": {
        **_child("sales_order_lines"),
        "line_number": _LINE,
        "tracking_number": "A tracking number listed on the line.",
    },
    "sales_order_invoices": {
        **_child("sales_orders"),
        "invoice_number": "An invoice number of the order.",
    },
    "sales_order_tracking_numbers": {
        **_child("sales_orders"),
        "tracking_number": "A tracking number of the order.",
    },
    "deliveries": {
        **_child("sales_orders"),
        "delivery_document_number": "Delivery document number (one shipment of the order).",
        "delivery_status": "Status of the delivery, e.g. Shipped.",
        "shipped_date": "Date the delivery shipped (ScanSource local date).",
    },
    "delivery_parcels": {
        **_child("deliveries"),
        "delivery_document_number": _DELIVERY,
        "seq": "Position of the parcel within the delivery (1, 2, ...).",
        "carton_number": "Carton number (an SSCC-18 label) of the parcel.",
        "carrier_code": "Carrier code, e.g. UPS, FEDEX, USPS, DHL.",
        "tracking_type": "Carrier service, e.g. GROUND, 2DAY, LTL.",
        "tracking_number": "Carrier's tracking number (a PRO number for freight).",
        "weight": "Parcel weight, in weight_uom.",
        "weight_uom": "Unit of the weight: LB or KG.",
    },
    "delivery_lines": {
        **_child("deliveries"),
        "delivery_document_number": _DELIVERY,
        "delivery_line_number": "Line number within the delivery.",
        "order_line_number": "The sales order line this delivery line ships.",
        "item_number": "ScanSource item number.",
        "quantity_ordered": "Units of the order line in this delivery.",
        "quantity_picked": "Units picked in the warehouse.",
        "quantity_scanned": "Units scanned (serial numbers captured).",
        "quantity_shipped": "Units shipped in this delivery.",
        "quantity_canceled": "Units cancelled from this delivery.",
    },
    "delivery_line_serials": {
        **_child("delivery_lines"),
        "delivery_document_number": _DELIVERY,
        "delivery_line_number": "Delivery line number; references delivery_lines.",
        "seq": "Position of the entry within the delivery line (1, 2, ...).",
        "carton_number": "Carton the unit was packed in (matches delivery_parcels.carton_number).",
        "serial_number": "Serial number of the unit.",
        "mac_address": "MAC address of the unit, formatted (AA:BB:CC:DD:EE:FF).",
        "mac_address_unformatted": "MAC address of the unit, hex digits only (AABBCCDDEEFF).",
    },
    "sales_order_status_history": {
        **_child("sales_orders"),
        "observed_at": "When the syncer observed the status (the load's time).",
        "status": "The order's status from then on.",
        "previous_status": "The status stored before; empty when the order was first seen.",
        "last_changed": "The order's last-changed time when the status was observed.",
    },
    "sync_state": {
        "account": "Customer number of the account.",
        "stream": "What is synced (sales_orders).",
        "watermark": "Start of the last complete run: later runs list changes from its day on.",
        "updated_at": "When the watermark last moved.",
    },
    "sync_runs": {
        "id": "Run number.",
        "account": "Customer number of the account.",
        "kind": "What ran: sync (moves the watermark), or another kind such as a backfill.",
        "started_at": "When the run started.",
        "finished_at": "When the run ended; empty while it runs.",
        "outcome": "running, succeeded or failed.",
        "window_from": "First last-changed day listed; empty for a first, full run.",
        "window_to": "Last last-changed day listed.",
        "listed": "Orders listed.",
        "fetched": "Order details fetched.",
        "skipped": "Orders not fetched: the warehouse already held their last change.",
        "loaded": "Orders written.",
        "unchanged": "Orders fetched whose content had not changed (not rewritten).",
        "failed": "Orders that failed (see sync_failures).",
        "api_calls": "API calls by operation and HTTP status, as JSON.",
        "throttled": "API calls answered 429 (rate limited).",
        "error": "Why the run failed; empty when it succeeded.",
    },
    "sync_failures": {
        "account": "Customer number of the account.",
        "sales_order_number": "The order that failed.",
        "stage": "Where it failed: list, fetch, parse or load.",
        "reason": "The error, readable.",
        "attempts": "How many runs have failed on it.",
        "payload": "The response body that could not be read, if any.",
        "first_failed_at": "When it first failed.",
        "last_failed_at": "When it last failed.",
        "gone_attempts": "Runs in a row that found the order gone from the API (its detail "
        "answered 404, or a search by its number found nothing); 0 after any other failure.",
        "resolution": "Empty while the failure is open (every run retries it); gone: closed, the "
        "order has disappeared from the API and is no longer retried.",
        "resolved_at": "When the failure was closed; empty while it is open.",
    },
    "sync_locks": {
        "account": "Customer number of the account.",
    },
}
