"""The views' and analysts' usual filters use their indexes: EXPLAIN on 3,000 synced orders
(about 150,000 rows), after ANALYZE, so the planner decides on real statistics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from syncer.sim import Subscription
from tests.integration.conftest import SimHarness
from tests.integration.views import local_day

ONE_ACCOUNT = (
    Subscription("demo-client", "demo-secret", "demo-subscription-key", ("1000012345",)),
)


def scans(plan: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(node type, index name, relation name) of every node of an EXPLAIN (FORMAT JSON) plan."""
    out = [(plan["Node Type"], plan.get("Index Name"), plan.get("Relation Name"))]
    for child in plan.get("Plans", []):
        out.extend(scans(child))
    return out


async def test_lookups_by_serial_mac_tracking_number_item_date_and_status_use_indexes(
    harness_factory: Callable[..., Any],
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=3000, subscriptions=ONE_ACCOUNT)
    account = h.customers[0]
    result = await h.account_sync(account, batch_size=250).run()
    assert result.outcome == "succeeded" and result.counts.loaded == 3000
    truth = h.sim.truth()
    unit = next(s for s in truth["delivery_line_serials"] if s["mac_address"])
    parcel = truth["delivery_parcels"][len(truth["delivery_parcels"]) // 2]
    line = next(r for r in truth["sales_order_lines"] if r["back_ordered"] > 0)
    invoice = truth["sales_order_invoices"][100]["invoice_number"]
    order = truth["sales_orders"][1500]
    day = local_day(order["date_entered"])
    shipped = truth["deliveries"][100]["shipped_date"]
    cases = {
        f"SELECT * FROM scansource.serial_lookup WHERE serial_number = '{unit['serial_number']}'": {
            "ix_delivery_line_serials_serial_number",
            "ix_sales_order_line_serials_serial_number",
        },
        "SELECT * FROM scansource.serial_lookup "
        f"WHERE mac_address_unformatted = '{unit['mac_address_unformatted']}'": {
            "ix_delivery_line_serials_mac"
        },
        "SELECT * FROM scansource.shipments "
        f"WHERE tracking_number = '{parcel['tracking_number']}'": {
            "ix_delivery_parcels_tracking_number"
        },
        "SELECT * FROM scansource.sales_order_tracking_numbers "
        f"WHERE tracking_number = '{parcel['tracking_number']}'": {
            "ix_sales_order_tracking_numbers_tracking_number"
        },
        "SELECT * FROM scansource.open_backorders "
        f"WHERE customer_number = '{account}' AND item_number = '{line['item_number']}'": {
            "ix_sales_order_lines_backordered"
        },
        f"SELECT * FROM scansource.sales_order_invoices WHERE invoice_number = '{invoice}'": {
            "ix_sales_order_invoices_invoice_number"
        },
        "SELECT * FROM scansource.order_lead_times "
        f"WHERE customer_number = '{account}' AND entered_at >= '{day}' "
        f"AND entered_at < '{day + timedelta(days=1)}'": {"ix_sales_orders_date_entered"},
        "SELECT * FROM scansource.sales_orders "
        f"WHERE customer_number = '{account}' AND status = 'On Hold'": {"ix_sales_orders_status"},
        f"SELECT * FROM scansource.shipments WHERE shipped_date = '{shipped}'": {
            "ix_deliveries_shipped_date"
        },
        f"SELECT * FROM scansource.sales_orders WHERE po_number = '{order['po_number']}'": {
            "ix_sales_orders_po_number"
        },
    }

    async with h.engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE")
        for sql, wanted in cases.items():
            plan = (await conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
            nodes = scans(plan[0]["Plan"])
            used = {index for _, index, _ in nodes if index}
            assert wanted <= used, f"{sql}\nuses {sorted(used)}\n{nodes}"
