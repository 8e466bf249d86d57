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


def _order_key() -> list[Column[str]]:
    return [
        Column("customer_number", Text, nullable=False),
        Column("sales_order_number", Text, nullable=False),
    ]


def _address(prefix: str) -> list[Column[str]]:
    fields = ("name", "attn", "street1", "street2", "city", "state", "postal_code", "country")
    return [Column(f"{prefix}_{f}", Text) for f in fields]


def _child_of(parent: str, *cols: str) -> ForeignKeyConstraint:
    keys = [*ORDER_KEY, *cols]
    return ForeignKeyConstraint(keys, [f"{SCHEMA}.{parent}.{k}" for k in keys], ondelete="CASCADE")


sales_orders = Table(
    "sales_orders",
    metadata,
    *_order_key(),
    Column("po_number", Text),
    Column("end_user_po", Text),
    Column("reference_number", Text),
    Column("doc_type", Text),
    Column("status", Text),
    Column("date_entered", TZ),
    Column("last_changed", TZ),
    Column("last_ship_date", Date),
    Column("memo", Text),
    Column("sales_rep_code", Text),
    Column("sales_rep_name", Text),
    Column("sales_rep_email", Text),
    Column("entered_by_email", Text),
    Column("shipping_option_description", Text),
    Column("currency", Text),
    Column("freight_amount", Numeric),
    Column("insurance_amount", Numeric),
    Column("tax_amount", Numeric),
    Column("total", Numeric),
    *_address("billing"),
    *_address("shipping"),
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
    Column("line_number", Integer, nullable=False),
    Column("po_line_number", Integer),
    Column("reference_line_number", Text),
    Column("item_number", Text),
    Column("product_mfr_part", Text),
    Column("customer_part_number", Text),
    Column("customer_part_reference", Text),
    Column("product_description", Text),
    Column("item_cat_code", Text),
    Column("item_cat_desc", Text),
    Column("matl_grp_code", Text),
    Column("matl_grp_desc", Text),
    Column("ordered", Numeric),
    Column("committed", Numeric),
    Column("back_ordered", Numeric),
    Column("shipped", Numeric),
    Column("canceled", Numeric),
    Column("reject_reason", Text),
    Column("price", Numeric),
    Column("currency", Text),
    PrimaryKeyConstraint(*ORDER_KEY, "line_number"),
    _child_of("sales_orders"),
    # Open backorders are a small share of all lines: index only those (the view's filter).
    Index(
        "ix_sales_order_lines_backordered",
        "customer_number",
        "item_number",
        postgresql_where=text("back_ordered > 0"),
    ),
)

sales_order_line_schedules = Table(
    "sales_order_line_schedules",
    metadata,
    *_order_key(),
    Column("line_number", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("estimated_ship_date", Date),
    Column("confirmed", Numeric),
    PrimaryKeyConstraint(*ORDER_KEY, "line_number", "seq"),
    _child_of("sales_order_lines", "line_number"),
)


def _line_values(name: str, value_column: str, *, lookup: bool = False) -> Table:
    """One row per distinct value (serial, invoice, tracking number) listed on a line."""
    return Table(
        name,
        metadata,
        *_order_key(),
        Column("line_number", Integer, nullable=False),
        Column(value_column, Text, nullable=False),
        PrimaryKeyConstraint(*ORDER_KEY, "line_number", value_column),
        _child_of("sales_order_lines", "line_number"),
        *([Index(f"ix_{name}_{value_column}", value_column)] if lookup else []),
    )


def _order_values(name: str, value_column: str) -> Table:
    """One row per distinct value listed on the order header (the API's order-level arrays).

    Indexed by value: "which order is invoice X / tracking number Y" is a daily question.
    """
    return Table(
        name,
        metadata,
        *_order_key(),
        Column(value_column, Text, nullable=False),
        PrimaryKeyConstraint(*ORDER_KEY, value_column),
        _child_of("sales_orders"),
        Index(f"ix_{name}_{value_column}", value_column),
    )


sales_order_line_serials = _line_values("sales_order_line_serials", "serial_number", lookup=True)
sales_order_line_invoices = _line_values("sales_order_line_invoices", "invoice_number")
sales_order_line_tracking_numbers = _line_values(
    "sales_order_line_tracking_numbers", "tracking_number"
)
sales_order_invoices = _order_values("sales_order_invoices", "invoice_number")
sales_order_tracking_numbers = _order_values("sales_order_tracking_numbers", "tracking_number")

deliveries = Table(
    "deliveries",
    metadata,
    *_order_key(),
    Column("delivery_document_number", Text, nullable=False),
    Column("delivery_status", Text),
    Column("shipped_date", Date),
    PrimaryKeyConstraint(*ORDER_KEY, "delivery_document_number"),
    _child_of("sales_orders"),
    Index("ix_deliveries_shipped_date", "shipped_date"),
)

delivery_parcels = Table(
    "delivery_parcels",
    metadata,
    *_order_key(),
    Column("delivery_document_number", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("carton_number", Text),
    Column("carrier_code", Text),
    Column("tracking_type", Text),
    Column("tracking_number", Text),
    Column("weight", Numeric),
    Column("weight_uom", Text),
    PrimaryKeyConstraint(*ORDER_KEY, "delivery_document_number", "seq"),
    _child_of("deliveries", "delivery_document_number"),
    Index("ix_delivery_parcels_tracking_number", "tracking_number"),
)

delivery_lines = Table(
    "delivery_lines",
    metadata,
    *_order_key(),
    Column("delivery_document_number", Text, nullable=False),
    Column("delivery_line_number", Integer, nullable=False),
    Column("order_line_number", Integer),
    Column("item_number", Text),
    Column("quantity_ordered", Numeric),
    Column("quantity_picked", Numeric),
    Column("quantity_scanned", Numeric),
    Column("quantity_shipped", Numeric),
    Column("quantity_canceled", Numeric),
    PrimaryKeyConstraint(*ORDER_KEY, "delivery_document_number", "delivery_line_number"),
    _child_of("deliveries", "delivery_document_number"),
)

delivery_line_serials = Table(
    "delivery_line_serials",
    metadata,
    *_order_key(),
    Column("delivery_document_number", Text, nullable=False),
    Column("delivery_line_number", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("carton_number", Text),
    Column("serial_number", Text),
    Column("mac_address", Text),
    Column("mac_address_unformatted", Text),
    PrimaryKeyConstraint(*ORDER_KEY, "delivery_document_number", "delivery_line_number", "seq"),
    _child_of("delivery_lines", "delivery_document_number", "delivery_line_number"),
    Index("ix_delivery_line_serials_serial_number", "serial_number"),
    Index("ix_delivery_line_serials_mac", "mac_address_unformatted"),
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
