# ruff: noqa: E501  (comment texts are kept one per line, as generated)
"""comments on every warehouse table and column, for BI tools that show them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 15:10:00

The text is syncer/warehouse/comments.py as of this revision, frozen here: a later change of a comment is a
later migration (Alembic's autogenerate detects it, since syncer.warehouse.schema carries the comments).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "scansource"

TABLES: dict[str, str] = {
    "sales_orders": "One row per sales order of an account: header, amounts and addresses.",
    "sales_order_lines": "One row per line of a sales order: item, quantities and price.",
    "sales_order_line_schedules": "Estimated ship dates and confirmed quantities of a line.",
    "sales_order_line_serials": "Serial numbers listed on an order line.",
    "sales_order_line_invoices": "Invoice numbers listed on an order line, when the API sends them.",
    "sales_order_line_tracking_numbers": "Tracking numbers listed on an order line, when the API sends them.",
    "sales_order_invoices": "Invoice numbers of an order (one per invoiced shipment).",
    "sales_order_tracking_numbers": "Tracking numbers of an order, over all its parcels.",
    "deliveries": "Deliveries (shipments) of an order.",
    "delivery_parcels": "Parcels (cartons) of a delivery, with carrier and tracking number.",
    "delivery_lines": "Lines of a delivery: which order line shipped, and how many units.",
    "delivery_line_serials": "Serial numbers and MAC addresses shipped on a delivery line.",
    "sales_order_status_history": "Every order status change the syncer observed.",
    "sync_state": "Where each account's sync stands: its watermark.",
    "sync_runs": "One row per sync run of an account: outcome, counts and API calls.",
    "sync_failures": "Orders that could not be fetched or loaded; every run retries them.",
}

COLUMNS: dict[str, dict[str, str]] = {
    "sales_orders": {
        "customer_number": "ScanSource account (customer number) the order belongs to.",
        "sales_order_number": "ScanSource sales order number; with customer_number, the order's key.",
        "po_number": "Reseller's purchase order number.",
        "end_user_po": "End customer's purchase order number.",
        "reference_number": "Reseller's own reference for the order (e.g. a web order id).",
        "doc_type": "Document type: ZOR standard order, ZDS drop shipment, ZQT quotation.",
        "status": "Order status: Open, On Hold, Partially Shipped, Completely Shipped, Cancelled or Quotation/Sales.",
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
        "billing_name": "Billing address: company or person name.",
        "billing_attn": "Billing address: attention line.",
        "billing_street1": "Billing address: street, first line.",
        "billing_street2": "Billing address: street, second line.",
        "billing_city": "Billing address: city.",
        "billing_state": "Billing address: state, province or region code.",
        "billing_postal_code": "Billing address: postal code.",
        "billing_country": "Billing address: country code.",
        "shipping_name": "Ship-to address: company or person name.",
        "shipping_attn": "Ship-to address: attention line.",
        "shipping_street1": "Ship-to address: street, first line.",
        "shipping_street2": "Ship-to address: street, second line.",
        "shipping_city": "Ship-to address: city.",
        "shipping_state": "Ship-to address: state, province or region code.",
        "shipping_postal_code": "Ship-to address: postal code.",
        "shipping_country": "Ship-to address: country code.",
        "content_hash": "Hash of the detail payload as received; equal hash, nothing to write.",
        "raw": "The detail payload as received (JSON), including fields not modelled here.",
        "detail_fetched_at": "When the syncer fetched the detail now stored.",
        "first_seen_at": "When the syncer first stored the order.",
        "synced_at": "When the syncer last wrote the order.",
    },
    "sales_order_lines": {
        "customer_number": "Account of the order; with the other key columns, references sales_orders.",
        "sales_order_number": "Sales order number; with the other key columns, references sales_orders.",
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
        "customer_number": "Account of the order; with the other key columns, references sales_order_lines.",
        "sales_order_number": "Sales order number; with the other key columns, references sales_order_lines.",
        "line_number": "Order line number; with the order key, references sales_order_lines.",
        "seq": "Position of the schedule line within the line (1, 2, ...).",
        "estimated_ship_date": "Date ScanSource expects to ship these units.",
        "confirmed": "Units confirmed for that date.",
    },
    "sales_order_line_serials": {
        "customer_number": "Account of the order; with the other key columns, references sales_order_lines.",
        "sales_order_number": "Sales order number; with the other key columns, references sales_order_lines.",
        "line_number": "Order line number; with the order key, references sales_order_lines.",
        "serial_number": "A serial number shipped on the line.",
    },
    "sales_order_line_invoices": {
        "customer_number": "Account of the order; with the other key columns, references sales_order_lines.",
        "sales_order_number": "Sales order number; with the other key columns, references sales_order_lines.",
        "line_number": "Order line number; with the order key, references sales_order_lines.",
        "invoice_number": "An invoice number listed on the line.",
    },
    "sales_order_line_tracking_numbers": {
        "customer_number": "Account of the order; with the other key columns, references sales_order_lines.",
        "sales_order_number": "Sales order number; with the other key columns, references sales_order_lines.",
        "line_number": "Order line number; with the order key, references sales_order_lines.",
        "tracking_number": "A tracking number listed on the line.",
    },
    "sales_order_invoices": {
        "customer_number": "Account of the order; with the other key columns, references sales_orders.",
        "sales_order_number": "Sales order number; with the other key columns, references sales_orders.",
        "invoice_number": "An invoice number of the order.",
    },
    "sales_order_tracking_numbers": {
        "customer_number": "Account of the order; with the other key columns, references sales_orders.",
        "sales_order_number": "Sales order number; with the other key columns, references sales_orders.",
        "tracking_number": "A tracking number of the order.",
    },
    "deliveries": {
        "customer_number": "Account of the order; with the other key columns, references sales_orders.",
        "sales_order_number": "Sales order number; with the other key columns, references sales_orders.",
        "delivery_document_number": "Delivery document number (one shipment of the order).",
        "delivery_status": "Status of the delivery, e.g. Shipped.",
        "shipped_date": "Date the delivery shipped (ScanSource local date).",
    },
    "delivery_parcels": {
        "customer_number": "Account of the order; with the other key columns, references deliveries.",
        "sales_order_number": "Sales order number; with the other key columns, references deliveries.",
        "delivery_document_number": "Delivery document number; with the order key, references deliveries.",
        "seq": "Position of the parcel within the delivery (1, 2, ...).",
        "carton_number": "Carton number (an SSCC-18 label) of the parcel.",
        "carrier_code": "Carrier code, e.g. UPS, FEDEX, USPS, DHL.",
        "tracking_type": "Carrier service, e.g. GROUND, 2DAY, LTL.",
        "tracking_number": "Carrier's tracking number (a PRO number for freight).",
        "weight": "Parcel weight, in weight_uom.",
        "weight_uom": "Unit of the weight: LB or KG.",
    },
    "delivery_lines": {
        "customer_number": "Account of the order; with the other key columns, references deliveries.",
        "sales_order_number": "Sales order number; with the other key columns, references deliveries.",
        "delivery_document_number": "Delivery document number; with the order key, references deliveries.",
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
        "customer_number": "Account of the order; with the other key columns, references delivery_lines.",
        "sales_order_number": "Sales order number; with the other key columns, references delivery_lines.",
        "delivery_document_number": "Delivery document number; with the order key, references deliveries.",
        "delivery_line_number": "Delivery line number; references delivery_lines.",
        "seq": "Position of the entry within the delivery line (1, 2, ...).",
        "carton_number": "Carton the unit was packed in (matches delivery_parcels.carton_number).",
        "serial_number": "Serial number of the unit.",
        "mac_address": "MAC address of the unit, formatted (AA:BB:CC:DD:EE:FF).",
        "mac_address_unformatted": "MAC address of the unit, hex digits only (AABBCCDDEEFF).",
    },
    "sales_order_status_history": {
        "customer_number": "Account of the order; with the other key columns, references sales_orders.",
        "sales_order_number": "Sales order number; with the other key columns, references sales_orders.",
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
    },
}

# Alembic's own table is not in syncer.warehouse.schema, but BI tools list it: say what it is.
TABLES["alembic_version"] = "Alembic's record of the schema's migration revision (not data)."
COLUMNS["alembic_version"] = {"version_num": "The migration revision the schema is at."}


def _literal(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def _comment_all(describe: bool) -> None:
    for table, comment in TABLES.items():
        op.execute(f"COMMENT ON TABLE {S}.{table} IS {_literal(comment if describe else None)}")
    for table, columns in COLUMNS.items():
        for column, comment in columns.items():
            text = _literal(comment if describe else None)
            op.execute(f"COMMENT ON COLUMN {S}.{table}.{column} IS {text}")


def upgrade() -> None:
    _comment_all(describe=True)


def downgrade() -> None:
    _comment_all(describe=False)
