"""views for BI (open backorders, shipments, serial look-up, lead times, daily volumes) and
the indexes behind their usual filters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:00:00

Days are ScanSource's: America/New_York, the time zone the API speaks (DateEntered, ShippedDate).
A view is replaced by a later migration (CREATE OR REPLACE VIEW), never edited here.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "scansource"
LOCAL = "'America/New_York'"
SHIPPED = "('Partially Shipped', 'Completely Shipped')"

OPEN_BACKORDERS = f"""
SELECT b.customer_number, b.sales_order_number, b.line_number, b.po_number, b.order_status,
       b.date_entered, b.age_days,
       CASE WHEN b.age_days IS NULL THEN NULL
            WHEN b.age_days <= 7 THEN '00-07 days'
            WHEN b.age_days <= 30 THEN '08-30 days'
            WHEN b.age_days <= 60 THEN '31-60 days'
            WHEN b.age_days <= 90 THEN '61-90 days'
            ELSE '91+ days' END AS age_bucket,
       b.item_number, b.product_mfr_part, b.product_description,
       b.ordered, b.shipped, b.committed, b.back_ordered, b.price, b.currency,
       b.back_ordered_value, b.earliest_estimated_ship_date, b.latest_estimated_ship_date
FROM (
    SELECT l.customer_number, l.sales_order_number, l.line_number, o.po_number,
           o.status AS order_status, o.date_entered,
           (now() AT TIME ZONE {LOCAL})::date
             - (o.date_entered AT TIME ZONE {LOCAL})::date AS age_days,
           l.item_number, l.product_mfr_part, l.product_description,
           l.ordered, l.shipped, l.committed, l.back_ordered, l.price,
           coalesce(l.currency, o.currency) AS currency,
           l.back_ordered * l.price AS back_ordered_value,
           s.earliest_estimated_ship_date, s.latest_estimated_ship_date
    FROM {S}.sales_order_lines l
    JOIN {S}.sales_orders o
      ON o.customer_number = l.customer_number AND o.sales_order_number = l.sales_order_number
    LEFT JOIN LATERAL (
        SELECT min(x.estimated_ship_date) AS earliest_estimated_ship_date,
               max(x.estimated_ship_date) AS latest_estimated_ship_date
        FROM {S}.sales_order_line_schedules x
        WHERE x.customer_number = l.customer_number
          AND x.sales_order_number = l.sales_order_number
          AND x.line_number = l.line_number
    ) s ON true
    WHERE l.back_ordered > 0  -- the predicate of ix_sales_order_lines_backordered
      AND coalesce(o.status, '') NOT IN ('Cancelled', 'Quotation/Sales')
) b
"""

# Carrier codes vary (UPS, UPSN, FEDEX, FDXE, FDEG, Royal Mail ...): compare letters only.
_CARRIER = """
CASE WHEN k.code LIKE 'UPS%' THEN 'UPS'
     WHEN k.code LIKE 'FEDEX%' OR k.code LIKE 'FDX%' OR k.code LIKE 'FDE%' THEN 'FedEx'
     WHEN k.code LIKE 'USPS%' THEN 'USPS'
     WHEN k.code LIKE 'DHL%' THEN 'DHL'
     WHEN k.code LIKE 'PUROLATOR%' OR k.code = 'PURO' THEN 'Purolator'
     WHEN k.code LIKE 'ROYALMAIL%' OR k.code = 'RM' THEN 'Royal Mail'
     WHEN k.code LIKE 'DPD%' THEN 'DPD'
     WHEN k.code LIKE 'RLCA%' THEN 'R+L Carriers'
END"""

_TRACKING_PAGE = """
CASE c.carrier_name
     WHEN 'UPS' THEN 'https://www.ups.com/track?tracknum='
     WHEN 'FedEx' THEN 'https://www.fedex.com/fedextrack/?trknbr='
     WHEN 'USPS' THEN 'https://tools.usps.com/go/TrackConfirmAction?tLabels='
     WHEN 'DHL' THEN 'https://www.dhl.com/global-en/home/tracking.html?submit=1&tracking-id='
     WHEN 'Purolator' THEN 'https://www.purolator.com/en/shipping/tracker?pin='
     WHEN 'Royal Mail' THEN 'https://www.royalmail.com/track-your-item#/tracking-results/'
     WHEN 'DPD' THEN 'https://tracking.dpd.de/status/en_US/parcel/'
END"""

SHIPMENTS = f"""
SELECT d.customer_number, d.sales_order_number, o.po_number,
       d.delivery_document_number, d.delivery_status, d.shipped_date,
       p.seq AS parcel_seq, p.carton_number, p.carrier_code, c.carrier_name,
       p.tracking_type, p.tracking_number,
       -- Only plain alphanumeric numbers go into a link: nothing odd reaches a dashboard's href.
       CASE WHEN p.tracking_number ~ '^[A-Za-z0-9]+$'
            THEN {_TRACKING_PAGE.strip()} || p.tracking_number END AS tracking_url,
       p.weight, p.weight_uom,
       o.shipping_name, o.shipping_city, o.shipping_state, o.shipping_postal_code,
       o.shipping_country
FROM {S}.deliveries d
JOIN {S}.sales_orders o
  ON o.customer_number = d.customer_number AND o.sales_order_number = d.sales_order_number
LEFT JOIN {S}.delivery_parcels p
  ON p.customer_number = d.customer_number AND p.sales_order_number = d.sales_order_number
 AND p.delivery_document_number = d.delivery_document_number
CROSS JOIN LATERAL (
    SELECT upper(regexp_replace(coalesce(p.carrier_code, ''), '[^A-Za-z]', '', 'g')) AS code
) k
CROSS JOIN LATERAL (SELECT {_CARRIER.strip()} AS carrier_name) c
"""

# Serials come from the delivery lines (with delivery and carton); a serial listed only on the
# order line (no delivery detail carries it) is kept too, without delivery. The API gives
# invoice numbers per order, not per delivery: an invoice is named only when that is certain.
SERIAL_LOOKUP = f"""
SELECT x.serial_number, x.mac_address, x.mac_address_unformatted,
       x.customer_number, x.sales_order_number, o.po_number, x.line_number,
       l.item_number, l.product_mfr_part, l.product_description,
       x.delivery_document_number, x.delivery_line_number, d.shipped_date, x.carton_number,
       p.carrier_code, p.tracking_number,
       CASE WHEN cardinality(li.numbers) = 1 THEN li.numbers[1]
            WHEN li.numbers IS NULL AND cardinality(oi.numbers) = 1 THEN oi.numbers[1]
       END AS invoice_number,
       CASE WHEN cardinality(li.numbers) = 1 THEN 'line'
            WHEN li.numbers IS NULL AND cardinality(oi.numbers) = 1 THEN 'order'
            WHEN coalesce(li.numbers, oi.numbers) IS NOT NULL THEN 'ambiguous'
            ELSE 'none' END AS invoice_basis,
       coalesce(li.numbers, oi.numbers) AS candidate_invoice_numbers
FROM (
    SELECT s.customer_number, s.sales_order_number, dl.order_line_number AS line_number,
           s.delivery_document_number, s.delivery_line_number, s.carton_number,
           s.serial_number, s.mac_address, s.mac_address_unformatted
    FROM {S}.delivery_line_serials s
    JOIN {S}.delivery_lines dl
      ON dl.customer_number = s.customer_number
     AND dl.sales_order_number = s.sales_order_number
     AND dl.delivery_document_number = s.delivery_document_number
     AND dl.delivery_line_number = s.delivery_line_number
    WHERE s.serial_number IS NOT NULL OR s.mac_address_unformatted IS NOT NULL
       OR s.mac_address IS NOT NULL
    UNION ALL
    SELECT ls.customer_number, ls.sales_order_number, ls.line_number,
           NULL, NULL, NULL, ls.serial_number, NULL, NULL
    FROM {S}.sales_order_line_serials ls
    WHERE NOT EXISTS (
        SELECT 1 FROM {S}.delivery_line_serials s
        WHERE s.customer_number = ls.customer_number
          AND s.sales_order_number = ls.sales_order_number
          AND s.serial_number = ls.serial_number
    )
) x
JOIN {S}.sales_orders o
  ON o.customer_number = x.customer_number AND o.sales_order_number = x.sales_order_number
LEFT JOIN {S}.sales_order_lines l
  ON l.customer_number = x.customer_number AND l.sales_order_number = x.sales_order_number
 AND l.line_number = x.line_number
LEFT JOIN {S}.deliveries d
  ON d.customer_number = x.customer_number AND d.sales_order_number = x.sales_order_number
 AND d.delivery_document_number = x.delivery_document_number
LEFT JOIN LATERAL (
    SELECT pp.carrier_code, pp.tracking_number FROM {S}.delivery_parcels pp
    WHERE pp.customer_number = x.customer_number AND pp.sales_order_number = x.sales_order_number
      AND pp.delivery_document_number = x.delivery_document_number
      AND pp.carton_number = x.carton_number
    ORDER BY pp.seq LIMIT 1
) p ON true
LEFT JOIN LATERAL (
    SELECT array_agg(i.invoice_number ORDER BY i.invoice_number) AS numbers
    FROM {S}.sales_order_line_invoices i
    WHERE i.customer_number = x.customer_number AND i.sales_order_number = x.sales_order_number
      AND i.line_number = x.line_number
) li ON true
LEFT JOIN LATERAL (
    SELECT array_agg(i.invoice_number ORDER BY i.invoice_number) AS numbers
    FROM {S}.sales_order_invoices i
    WHERE i.customer_number = x.customer_number AND i.sales_order_number = x.sales_order_number
) oi ON true
"""

# A status stamp is exact only when an earlier observation exists: an order first seen already
# shipped tells us nothing about when it shipped (the shipped dates of its deliveries still do).
ORDER_LEAD_TIMES = f"""
SELECT t.customer_number, t.sales_order_number, t.po_number, t.status, t.currency,
       t.entered_at, t.first_shipment_at, t.completely_shipped_at,
       round(extract(epoch FROM t.first_shipment_at - t.entered_at) / 86400, 2)
         AS days_to_first_shipment,
       round(extract(epoch FROM t.completely_shipped_at - t.entered_at) / 86400, 2)
         AS days_to_complete,
       t.first_shipped_date, t.completely_shipped_date,
       t.first_shipped_date - t.entered_date AS days_to_first_shipped_date,
       t.completely_shipped_date - t.entered_date AS days_to_completely_shipped_date,
       t.deliveries
FROM (
    SELECT o.customer_number, o.sales_order_number, o.po_number, o.status, o.currency,
           o.date_entered AS entered_at,
           (o.date_entered AT TIME ZONE {LOCAL})::date AS entered_date,
           CASE WHEN h.first_observed_at < h.first_shipment_observed_at
                THEN h.first_shipment_at END AS first_shipment_at,
           CASE WHEN h.first_observed_at < h.complete_observed_at
                THEN h.completely_shipped_at END AS completely_shipped_at,
           dd.first_shipped_date,
           CASE WHEN o.status = 'Completely Shipped' THEN dd.last_shipped_date END
             AS completely_shipped_date,
           coalesce(dd.deliveries, 0) AS deliveries
    FROM {S}.sales_orders o
    LEFT JOIN (
        SELECT customer_number, sales_order_number,
               min(observed_at) AS first_observed_at,
               min(observed_at) FILTER (WHERE status IN {SHIPPED}) AS first_shipment_observed_at,
               min(coalesce(last_changed, observed_at)) FILTER (WHERE status IN {SHIPPED})
                 AS first_shipment_at,
               min(observed_at) FILTER (WHERE status = 'Completely Shipped')
                 AS complete_observed_at,
               min(coalesce(last_changed, observed_at)) FILTER (WHERE status = 'Completely Shipped')
                 AS completely_shipped_at
        FROM {S}.sales_order_status_history
        GROUP BY customer_number, sales_order_number
    ) h ON h.customer_number = o.customer_number AND h.sales_order_number = o.sales_order_number
    LEFT JOIN (
        SELECT customer_number, sales_order_number, count(*) AS deliveries,
               min(shipped_date) AS first_shipped_date, max(shipped_date) AS last_shipped_date
        FROM {S}.deliveries
        GROUP BY customer_number, sales_order_number
    ) dd ON dd.customer_number = o.customer_number AND dd.sales_order_number = o.sales_order_number
    WHERE coalesce(o.status, '') <> 'Quotation/Sales'
) t
"""

# Two aggregates stacked with UNION ALL and summed: a filter on account, day or currency is
# pushed into both, and a day with orders but no shipments shows zeros, not NULLs.
DAILY_VOLUMES = f"""
SELECT v.customer_number, v.day, v.currency,
       sum(v.orders_entered)::bigint AS orders_entered,
       sum(v.order_value_entered) AS order_value_entered,
       sum(v.orders_shipped)::bigint AS orders_shipped,
       sum(v.deliveries_shipped)::bigint AS deliveries_shipped,
       sum(v.parcels_shipped)::bigint AS parcels_shipped,
       sum(v.units_shipped) AS units_shipped,
       sum(v.value_shipped) AS value_shipped
FROM (
    SELECT o.customer_number, (o.date_entered AT TIME ZONE {LOCAL})::date AS day, o.currency,
           count(*) AS orders_entered, coalesce(sum(o.total), 0) AS order_value_entered,
           0 AS orders_shipped, 0 AS deliveries_shipped, 0 AS parcels_shipped,
           0::numeric AS units_shipped, 0::numeric AS value_shipped
    FROM {S}.sales_orders o
    WHERE o.date_entered IS NOT NULL AND coalesce(o.status, '') <> 'Quotation/Sales'
    GROUP BY 1, 2, 3
    UNION ALL
    SELECT d.customer_number, d.shipped_date, o.currency,
           0, 0,
           count(DISTINCT d.sales_order_number), count(*), coalesce(sum(pc.parcels), 0),
           coalesce(sum(u.units), 0), coalesce(sum(u.value), 0)
    FROM {S}.deliveries d
    JOIN {S}.sales_orders o
      ON o.customer_number = d.customer_number AND o.sales_order_number = d.sales_order_number
    LEFT JOIN (
        SELECT customer_number, sales_order_number, delivery_document_number, count(*) AS parcels
        FROM {S}.delivery_parcels
        GROUP BY 1, 2, 3
    ) pc ON pc.customer_number = d.customer_number
        AND pc.sales_order_number = d.sales_order_number
        AND pc.delivery_document_number = d.delivery_document_number
    LEFT JOIN (
        SELECT dl.customer_number, dl.sales_order_number, dl.delivery_document_number,
               sum(dl.quantity_shipped) AS units, sum(dl.quantity_shipped * l.price) AS value
        FROM {S}.delivery_lines dl
        LEFT JOIN {S}.sales_order_lines l
          ON l.customer_number = dl.customer_number
         AND l.sales_order_number = dl.sales_order_number
         AND l.line_number = dl.order_line_number
        GROUP BY 1, 2, 3
    ) u ON u.customer_number = d.customer_number
       AND u.sales_order_number = d.sales_order_number
       AND u.delivery_document_number = d.delivery_document_number
    WHERE d.shipped_date IS NOT NULL
    GROUP BY 1, 2, 3
) v
GROUP BY v.customer_number, v.day, v.currency
"""

VIEWS: dict[str, str] = {
    "open_backorders": OPEN_BACKORDERS,
    "shipments": SHIPMENTS,
    "serial_lookup": SERIAL_LOOKUP,
    "order_lead_times": ORDER_LEAD_TIMES,
    "daily_volumes": DAILY_VOLUMES,
}

# (view comment, {column: comment}) — docs/schema.md repeats these word for word.
COMMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "open_backorders": (
        "Open backorders: one row per order line with units on backorder, on orders neither "
        "cancelled nor quotations; age counted from the order's entry.",
        {
            "customer_number": "Account of the order.",
            "sales_order_number": "Sales order number.",
            "line_number": "Order line number.",
            "po_number": "Reseller's purchase order number.",
            "order_status": "Current status of the order.",
            "date_entered": "When the order was entered.",
            "age_days": "Days since the order was entered (ScanSource local calendar days).",
            "age_bucket": "Age band: 00-07, 08-30, 31-60, 61-90 or 91+ days (sorts correctly).",
            "item_number": "ScanSource item number.",
            "product_mfr_part": "Manufacturer part number.",
            "product_description": "Product description.",
            "ordered": "Units ordered on the line.",
            "shipped": "Units shipped so far.",
            "committed": "Units allocated to the next shipment.",
            "back_ordered": "Units on backorder.",
            "price": "Unit price.",
            "currency": "Currency of the price (the line's, else the order's).",
            "back_ordered_value": "Value on backorder: back_ordered times price.",
            "earliest_estimated_ship_date": "Earliest estimated ship date of the line's schedule.",
            "latest_estimated_ship_date": (
                "Latest estimated ship date of the line's schedule: when the line should be "
                "complete."
            ),
        },
    ),
    "shipments": (
        "Shipments: one row per parcel of each delivery (a delivery without parcels appears "
        "once), with carrier, tracking number and a link to the carrier's tracking page.",
        {
            "customer_number": "Account of the order.",
            "sales_order_number": "Sales order number.",
            "po_number": "Reseller's purchase order number.",
            "delivery_document_number": "Delivery document number.",
            "delivery_status": "Status of the delivery.",
            "shipped_date": "Date the delivery shipped.",
            "parcel_seq": "Position of the parcel within the delivery; empty without parcels.",
            "carton_number": "Carton number (SSCC-18) of the parcel.",
            "carrier_code": "Carrier code as the API sends it.",
            "carrier_name": (
                "Carrier recognised from the code: UPS, FedEx, USPS, DHL, Purolator, "
                "Royal Mail, DPD or R+L Carriers; empty when not recognised."
            ),
            "tracking_type": "Carrier service, e.g. GROUND, 2DAY, LTL.",
            "tracking_number": "Carrier's tracking number.",
            "tracking_url": (
                "Link to the carrier's public tracking page; empty for carriers without one "
                "here (e.g. freight) and for numbers that are not plain letters and digits."
            ),
            "weight": "Parcel weight, in weight_uom.",
            "weight_uom": "Unit of the weight: LB or KG.",
            "shipping_name": "Ship-to name of the order.",
            "shipping_city": "Ship-to city of the order.",
            "shipping_state": "Ship-to state or province of the order.",
            "shipping_postal_code": "Ship-to postal code of the order.",
            "shipping_country": "Ship-to country of the order.",
        },
    ),
    "serial_lookup": (
        "Serial and MAC look-up: one row per shipped unit with a serial number or MAC address: "
        "its order, line, delivery, carton and tracking number. The API lists invoice numbers "
        "per order, not per delivery, so invoice_number is filled only when it is certain: "
        "the line lists exactly one invoice, or the order has exactly one. Otherwise it is "
        "empty, and candidate_invoice_numbers lists the invoices the unit may be on.",
        {
            "serial_number": "Serial number of the unit.",
            "mac_address": "MAC address, formatted (AA:BB:CC:DD:EE:FF).",
            "mac_address_unformatted": (
                "MAC address, hex digits only (AABBCCDDEEFF); filter on this column to use "
                "its index."
            ),
            "customer_number": "Account of the order.",
            "sales_order_number": "Sales order number.",
            "po_number": "Reseller's purchase order number.",
            "line_number": "Order line the unit belongs to.",
            "item_number": "ScanSource item number of that line.",
            "product_mfr_part": "Manufacturer part number of that line.",
            "product_description": "Product description of that line.",
            "delivery_document_number": (
                "Delivery that shipped the unit; empty when only the order line lists the serial."
            ),
            "delivery_line_number": "Line of that delivery.",
            "shipped_date": "Date that delivery shipped.",
            "carton_number": "Carton the unit was packed in.",
            "carrier_code": "Carrier of that carton's parcel.",
            "tracking_number": "Tracking number of that carton's parcel.",
            "invoice_number": "The unit's invoice, when certain (see invoice_basis); else empty.",
            "invoice_basis": (
                "How invoice_number was found: line (the line's only invoice), order (the "
                "order's only invoice), ambiguous (several candidates) or none (not invoiced)."
            ),
            "candidate_invoice_numbers": (
                "Invoices the unit may be on: the line's invoice numbers if the line lists "
                "any, else the order's."
            ),
        },
    ),
    "order_lead_times": (
        "Order lead times: entered, first shipment and completely shipped, per order "
        "(quotations left out). The _at stamps come from the observed status history and "
        "are filled only when the syncer saw the order before the change; the _date columns "
        "come from the deliveries' shipped dates and are always filled once shipped.",
        {
            "customer_number": "Account of the order.",
            "sales_order_number": "Sales order number.",
            "po_number": "Reseller's purchase order number.",
            "status": "Current status of the order.",
            "currency": "Currency of the order.",
            "entered_at": "When the order was entered.",
            "first_shipment_at": (
                "When the order first turned Partially or Completely Shipped (its last-changed "
                "stamp then); empty unless an earlier status was observed."
            ),
            "completely_shipped_at": (
                "When the order turned Completely Shipped (its last-changed stamp then); empty "
                "unless an earlier status was observed."
            ),
            "days_to_first_shipment": "Days from entered_at to first_shipment_at.",
            "days_to_complete": "Days from entered_at to completely_shipped_at.",
            "first_shipped_date": "Shipped date of the order's first delivery.",
            "completely_shipped_date": (
                "Shipped date of the last delivery, once the order is Completely Shipped."
            ),
            "days_to_first_shipped_date": (
                "Calendar days from the entry date (ScanSource local) to first_shipped_date."
            ),
            "days_to_completely_shipped_date": (
                "Calendar days from the entry date (ScanSource local) to completely_shipped_date."
            ),
            "deliveries": "Number of deliveries of the order so far.",
        },
    ),
    "daily_volumes": (
        "Daily volumes per account, day and currency: orders entered (quotations left out, "
        "later cancellations kept) and deliveries shipped. Days are ScanSource local days.",
        {
            "customer_number": "Account.",
            "day": "The day: entry day for orders, shipped date for deliveries.",
            "currency": "Currency of the orders.",
            "orders_entered": "Orders entered that day.",
            "order_value_entered": "Sum of the totals of the orders entered that day.",
            "orders_shipped": "Orders with a delivery shipped that day.",
            "deliveries_shipped": "Deliveries shipped that day.",
            "parcels_shipped": "Parcels of those deliveries.",
            "units_shipped": "Units shipped that day.",
            "value_shipped": "Units shipped times their line's unit price (no freight or tax).",
        },
    ),
}

# (name, table, columns, partial-index predicate) — also declared in syncer/warehouse/schema.py.
INDEXES: list[tuple[str, str, list[str], str | None]] = [
    ("ix_sales_orders_date_entered", "sales_orders", ["customer_number", "date_entered"], None),
    (
        "ix_sales_order_lines_backordered",
        "sales_order_lines",
        ["customer_number", "item_number"],
        "back_ordered > 0",
    ),
    (
        "ix_sales_order_line_serials_serial_number",
        "sales_order_line_serials",
        ["serial_number"],
        None,
    ),
    ("ix_sales_order_invoices_invoice_number", "sales_order_invoices", ["invoice_number"], None),
    (
        "ix_sales_order_tracking_numbers_tracking_number",
        "sales_order_tracking_numbers",
        ["tracking_number"],
        None,
    ),
]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    for name, table, columns, where in INDEXES:
        op.create_index(
            name,
            table,
            columns,
            schema=S,
            postgresql_where=sa.text(where) if where else None,
        )
    for view, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {S}.{view} AS {sql}")
        comment, columns = COMMENTS[view]
        op.execute(f"COMMENT ON VIEW {S}.{view} IS {_literal(comment)}")
        for column, text in columns.items():
            op.execute(f"COMMENT ON COLUMN {S}.{view}.{column} IS {_literal(text)}")


def downgrade() -> None:
    for view in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {S}.{view}")
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table, schema=S)
