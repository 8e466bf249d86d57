"""The warehouse schema (SQLAlchemy Core): what the code reads, and what Alembic compares against.

Natural keys throughout: every child key starts with the order key
(customer_number, sales_order_number), so a load needs no look-ups.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP

from syncer.states import Outcome, Resolution, RunKind
from syncer.warehouse import comments

SCHEMA = "scansource"

metadata = MetaData(schema=SCHEMA)

TZ = TIMESTAMP(timezone=True)
ORDER_KEY = ("customer_number", "sales_order_number")

# Where the data tables' values come from in the API (syncer.warehouse.rows builds rows by these):
# a table's `info["api"]` names the array of its parent's object that holds its rows (the parent:
# `info["parent"]`; sales_orders' object is the detail itself), a column's `info["api"]` the field
# of the row's object that holds its value. A child's first columns are its parent's key; the
# other columns without `api` are the order's key and our bookkeeping. The names are the API's
# (syncer.api.payload), character for character.
POSITION = "#"  # the row's position in its array, from 1
ITEM = "."  # the array's item itself: a string of an array of strings
LISTED = "list"  # info["source"] of a value the list row gives, not the detail


def api(path: str, **more: object) -> dict[str, object]:
    """A column's (or table's) `info`: its API field (or array)."""
    return {"api": path, **more}


def quantity(path: str) -> dict[str, object]:
    """A quantity: never negative (a negative one is a broken payload, refused with a reason)."""
    return api(path, quantity=True)


def _rows_of(parent: str, array: str) -> dict[str, object]:
    return {"api": array, "parent": parent}


def _order_key() -> list[Column[str]]:
    return [
        Column("customer_number", Text, nullable=False),
        Column("sales_order_number", Text, nullable=False),
    ]


def _address(prefix: str, field: str) -> list[Column[str]]:
    fields = {
        "name": "Name", "attn": "Attn", "street1": "Street1", "street2": "Street2",
        "city": "City", "state": "State", "postal_code": "PostalCode", "country": "Country",
    }  # fmt: skip
    return [Column(f"{prefix}_{f}", Text, info=api(f"{field}.{n}")) for f, n in fields.items()]


def _child_of(parent: str, *cols: str) -> ForeignKeyConstraint:
    keys = [*ORDER_KEY, *cols]
    return ForeignKeyConstraint(keys, [f"{SCHEMA}.{parent}.{k}" for k in keys], ondelete="CASCADE")


sales_orders = Table(
    "sales_orders",
    metadata,
    *_order_key(),
    Column("po_number", Text, info=api("PONumber")),
    Column("end_user_po", Text, info=api("EndUserPO")),
    Column("reference_number", Text, info=api("ReferenceNumber")),
    Column("doc_type", Text, info=api("DocType")),
    Column("status", Text, info=api("Status")),
    Column("date_entered", TZ, info=api("DateEntered", source=LISTED)),
    Column("last_changed", TZ, info=api("LastChanged", source=LISTED)),
    Column("last_ship_date", Date, info=api("LastShipDate")),
    Column("memo", Text, info=api("Memo")),
    Column("sales_rep_code", Text, info=api("SalesRepCode")),
    Column("sales_rep_name", Text, info=api("SalesRepName")),
    Column("sales_rep_email", Text, info=api("SalesRepEmail")),
    Column("entered_by_email", Text, info=api("EnteredByEmail")),
    Column("shipping_option_description", Text, info=api("ShippingOptionDescription")),
    Column("currency", Text, info=api("Currency")),
    Column("freight_amount", Numeric, info=api("FreightAmount")),
    Column("insurance_amount", Numeric, info=api("InsuranceAmount")),
    Column("tax_amount", Numeric, info=api("TaxAmount")),
    Column("total", Numeric, info=api("Total")),
    *_address("billing", "BillingAddress"),
    *_address("shipping", "ShippingAddress"),
    # Bookkeeping: what we fetched, when, and a hash to skip writes of unchanged content.
    Column("content_hash", Text, nullable=False),
    Column("raw", JSONB, nullable=False),
    Column("detail_fetched_at", TZ, nullable=False),
    Column("first_seen_at", TZ, nullable=False, server_default=text("now()")),
    Column("synced_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint(*ORDER_KEY),
    Index("ix_sales_orders_last_changed", "customer_number", "last_changed"),
    Index("ix_sales_orders_status", "customer_number", "status"),
    Index("ix_sales_orders_po_number", "po_number"),
    Index("ix_sales_orders_date_entered", "customer_number", "date_entered"),
)

sales_order_lines = Table(
    "sales_order_lines",
    metadata,
    *_order_key(),
    Column("line_number", Integer, nullable=False, info=api("LineNumber")),
    Column("po_line_number", Integer, info=api("POLineNumber")),
    Column("reference_line_number", Text, info=api("ReferenceLineNumber")),
    Column("item_number", Text, info=api("ItemNumber")),
    Column("product_mfr_part", Text, info=api("ProductMfrPart")),
    Column("customer_part_number", Text, info=api("CustomerPartNumber")),
    Column("customer_part_reference", Text, info=api("CustomerPartReference")),
    Column("product_description", Text, info=api("ProductDescription")),
    Column("item_cat_code", Text, info=api("ItemCatCode")),
    Column("item_cat_desc", Text, info=api("ItemCatDesc")),
    Column("matl_grp_code", Text, info=api("MatlGrpCode")),
    Column("matl_grp_desc", Text, info=api("MatlGrpDesc")),
    Column("ordered", Numeric, info=quantity("Ordered")),
    Column("committed", Numeric, info=quantity("Committed")),
    Column("back_ordered", Numeric, info=quantity("BackOrdered")),
    Column("shipped", Numeric, info=quantity("Shipped")),
    Column("canceled", Numeric, info=quantity("Canceled")),
    Column("reject_reason", Text, info=api("RejectReason")),
    Column("price", Numeric, info=api("Price")),
    Column("currency", Text, info=api("Currency")),
    PrimaryKeyConstraint(*ORDER_KEY, "line_number"),
    _child_of("sales_orders"),
    # Open backorders are a small share of all lines: index only those (the view's filter).
    Index(
        "ix_sales_order_lines_backordered",
        "customer_number",
        "item_number",
        postgresql_where=text("back_ordered > 0"),
    ),
    info=_rows_of("sales_orders", "SalesOrderLines"),
)

sales_order_line_schedules = Table(
    "sales_order_line_schedules",
    metadata,
    *_order_key(),
    Column("line_number", Integer, nullable=False),
    Column("seq", Integer, nullable=False, info=api(POSITION)),
    Column("estimated_ship_date", Date, info=api("EstimatedShipDate")),
    Column("confirmed", Numeric, info=api("Confirmed")),
    PrimaryKeyConstraint(*ORDER_KEY, "line_number", "seq"),
    _child_of("sales_order_lines", "line_number"),
    info=_rows_of("sales_order_lines", "ScheduleLines"),
)


def _line_values(name: str, value_column: str, array: str, *, lookup: bool = False) -> Table:
    """One row per distinct value (serial, invoice, tracking number) listed on a line."""
    return Table(
        name,
        metadata,
        *_order_key(),
        Column("line_number", Integer, nullable=False),
        Column(value_column, Text, nullable=False, info=api(ITEM)),
        PrimaryKeyConstraint(*ORDER_KEY, "line_number", value_column),
        _child_of("sales_order_lines", "line_number"),
        *([Index(f"ix_{name}_{value_column}", value_column)] if lookup else []),
        info=_rows_of("sales_order_lines", array),
    )


def _order_values(name: str, value_column: str, array: str) -> Table:
    """One row per distinct value listed on the order header (the API's order-level arrays).

    Indexed by value: "which order is invoice X / tracking number Y" is a daily question.
    """
    return Table(
        name,
        metadata,
        *_order_key(),
        Column(value_column, Text, nullable=False, info=api(ITEM)),
        PrimaryKeyConstraint(*ORDER_KEY, value_column),
        _child_of("sales_orders"),
        Index(f"ix_{name}_{value_column}", value_column),
        info=_rows_of("sales_orders", array),
    )


sales_order_line_serials = _line_values(
    "sales_order_line_serials", "serial_number", "SerialNumbers", lookup=True
)
sales_order_line_invoices = _line_values(
    "sales_order_line_invoices", "invoice_number", "InvoiceNumbers"
)
sales_order_line_tracking_numbers = _line_values(
    "sales_order_line_tracking_numbers", "tracking_number", "TrackingNumbers"
)
sales_order_invoices = _order_values("sales_order_invoices", "invoice_number", "InvoiceNumbers")
sales_order_tracking_numbers = _order_values(
    "sales_order_tracking_numbers", "tracking_number", "TrackingNumbers"
)

deliveries = Table(
    "deliveries",
    metadata,
    *_order_key(),
    Column("delivery_document_number", Text, nullable=False, info=api("DeliveryDocumentNumber")),
    Column("delivery_status", Text, info=api("DeliveryStatus")),
    Column("shipped_date", Date, info=api("ShippedDate")),
    PrimaryKeyConstraint(*ORDER_KEY, "delivery_document_number"),
    _child_of("sales_orders"),
    Index("ix_deliveries_shipped_date", "shipped_date"),
    info=_rows_of("sales_orders", "Deliveries"),
)

delivery_parcels = Table(
    "delivery_parcels",
    metadata,
    *_order_key(),
    Column("delivery_document_number", Text, nullable=False),
    Column("seq", Integer, nullable=False, info=api(POSITION)),
    Column("carton_number", Text, info=api("CartonNumber")),
    Column("carrier_code", Text, info=api("CarrierCode")),
    Column("tracking_type", Text, info=api("TrackingType")),
    Column("tracking_number", Text, info=api("TrackingNumber")),
    Column("weight", Numeric, info=api("Weight")),
    Column("weight_uom", Text, info=api("WeightUOM")),
    PrimaryKeyConstraint(*ORDER_KEY, "delivery_document_number", "seq"),
    _child_of("deliveries", "delivery_document_number"),
    Index("ix_delivery_parcels_tracking_number", "tracking_number"),
    info=_rows_of("deliveries", "Parcels"),
)

delivery_lines = Table(
    "delivery_lines",
    metadata,
    *_order_key(),
    Column("delivery_document_number", Text, nullable=False),
    Column("delivery_line_number", Integer, nullable=False,
           info=api("DeliveryDocumentLineNumber")),
    Column("order_line_number", Integer, info=api("OrderLineNumber")),
    Column("item_number", Text, info=api("ItemNumber")),
    Column("quantity_ordered", Numeric, info=quantity("QuantityOrdered")),
    Column("quantity_picked", Numeric, info=quantity("QuantityPicked")),
    Column("quantity_scanned", Numeric, info=quantity("QuantityScanned")),
    Column("quantity_shipped", Numeric, info=quantity("QuantityShipped")),
    Column("quantity_canceled", Numeric, info=quantity("QuantityCanceled")),
    PrimaryKeyConstraint(*ORDER_KEY, "delivery_document_number", "delivery_line_number"),
    _child_of("deliveries", "delivery_document_number"),
    info=_rows_of("deliveries", "LineItems"),
)  # fmt: skip

delivery_line_serials = Table(
    "delivery_line_serials",
    metadata,
    *_order_key(),
    Column("delivery_document_number", Text, nullable=False),
    Column("delivery_line_number", Integer, nullable=False),
    Column("seq", Integer, nullable=False, info=api(POSITION)),
    Column("carton_number", Text, info=api("CartonNumber")),
    Column("serial_number", Text, info=api("SerialNumber")),
    Column("mac_address", Text, info=api("MACAddress")),
    Column("mac_address_unformatted", Text, info=api("MACAddressUnformatted")),
    PrimaryKeyConstraint(*ORDER_KEY, "delivery_document_number", "delivery_line_number", "seq"),
    _child_of("delivery_lines", "delivery_document_number", "delivery_line_number"),
    Index("ix_delivery_line_serials_serial_number", "serial_number"),
    Index("ix_delivery_line_serials_mac", "mac_address_unformatted"),
    info=_rows_of("delivery_lines", "LineItemDetails"),
)

sales_order_status_history = Table(
    "sales_order_status_history",
    metadata,
    *_order_key(),
    Column("observed_at", TZ, nullable=False),
    Column("status", Text, nullable=False),
    Column("previous_status", Text),
    Column("last_changed", TZ),
    PrimaryKeyConstraint(*ORDER_KEY, "observed_at"),
    _child_of("sales_orders"),
)

sync_state = Table(
    "sync_state",
    metadata,
    Column("account", Text, nullable=False),
    Column("stream", Text, nullable=False),
    Column("watermark", TZ, nullable=False),
    Column("updated_at", TZ, nullable=False, server_default=text("now()")),
    PrimaryKeyConstraint("account", "stream"),
)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("account", Text, nullable=False),
    Column("kind", Text, nullable=False, server_default=RunKind.SYNC.value),
    Column("started_at", TZ, nullable=False),
    Column("finished_at", TZ),
    Column("outcome", Text, nullable=False, server_default=Outcome.RUNNING.value),
    Column("window_from", Date),
    Column("window_to", Date),
    Column("listed", Integer, nullable=False, server_default="0"),
    Column("fetched", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    Column("loaded", Integer, nullable=False, server_default="0"),
    Column("unchanged", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    Column("api_calls", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("throttled", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Index("ix_sync_runs_account_started", "account", "started_at"),
)

sync_failures = Table(
    "sync_failures",
    metadata,
    Column("account", Text, nullable=False),
    Column("sales_order_number", Text, nullable=False),
    Column("stage", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("payload", Text),
    Column("first_failed_at", TZ, nullable=False, server_default=text("now()")),
    Column("last_failed_at", TZ, nullable=False, server_default=text("now()")),
    Column("gone_attempts", Integer, nullable=False, server_default="0"),
    Column("resolution", Text),  # NULL: open, retried every run; 'gone': closed
    Column("resolved_at", TZ),
    PrimaryKeyConstraint("account", "sales_order_number"),
    CheckConstraint(
        "(resolution IS NULL AND resolved_at IS NULL) "
        f"OR (resolution = '{Resolution.GONE}' AND resolved_at IS NOT NULL)",
        name="ck_sync_failures_resolution",
    ),
)


# The account's row lock: what syncers arbitrate with when a reader holds the account's advisory
# lock (syncer.warehouse.locks). Only a role that may UPDATE it can lock a row of it.
sync_locks = Table(
    "sync_locks",
    metadata,
    Column("account", Text, primary_key=True),
)


def _describe() -> None:
    """Attach syncer.warehouse.comments' comments, so Alembic compares them with the database."""
    for table in metadata.tables.values():
        table.comment = comments.TABLES.get(table.name)
        described = comments.COLUMNS.get(table.name, {})
        for column in table.columns:
            column.comment = described.get(column.name)


_describe()

# Children of an order, parents before children (insert order); delete the order's rows from
# CHILD_TABLES[0] children cascade, but we delete explicitly to keep the load set-based and clear.
CHILD_TABLES: tuple[Table, ...] = (
    sales_order_lines,
    sales_order_line_schedules,
    sales_order_line_serials,
    sales_order_line_invoices,
    sales_order_line_tracking_numbers,
    sales_order_invoices,
    sales_order_tracking_numbers,
    deliveries,
    delivery_parcels,
    delivery_lines,
    delivery_line_serials,
)

# The tables whose content comes from the API (compared with the simulator's ground truth).
DATA_TABLES: tuple[Table, ...] = (sales_orders, *CHILD_TABLES)

# Columns of sales_orders that are our bookkeeping, not API data.
BOOKKEEPING_COLUMNS = frozenset(
    {"content_hash", "raw", "detail_fetched_at", "first_seen_at", "synced_at"}
)
