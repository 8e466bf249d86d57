"""Ship quote and vendor-required data (docs/api.md §3.6, §3.7): answers computed from the request.

Freight follows the weight of what is quoted, the service's speed and the destination (a zone
drawn from the postal code); prices are in the destination's currency. Same request, same quote.
"""

from __future__ import annotations

import math
from typing import Any

from syncer.sim.catalog import (
    FX,
    REGION_CURRENCY,
    SERVICE_LEVELS,
    SHIPPING_OPTIONS,
    VRD_FIELDS,
    region_of,
)
from syncer.sim.codes import seed_int
from syncer.sim.fields import BadRequest, Body
from syncer.sim.items import Item, ItemIndex

Json = dict[str, Any]

# Per tracking type: (base charge, charge per lb) in USD cents.
_RATES = {
    "GROUND": (995, 65),
    "2DAY": (1850, 145),
    "NEXTDAY": (3200, 260),
    "PRIORITY": (850, 90),
    "EXPRESS": (4500, 310),
    "TRACKED": (650, 80),
    "LTL": (14500, 18),
}
LTL_MIN_WEIGHT_LB = 150.0  # heavier shipments also get third-party freight options
INSURANCE_RATE = 0.0035


def _business_unit(body: Body) -> str:
    # A string in these two requests (an int in purchase orders, §10); any positive number.
    unit = body.text("BusinessUnit", required=True) or ""
    if not unit.isdigit() or int(unit) < 1:
        raise BadRequest(f"BusinessUnit '{unit[:20]}' is not a ScanSource business unit number.")
    return unit


def check_customer(body: Body, customer: str) -> None:
    named = body.text("CustomerNumber")
    if named is not None and named != customer:
        raise BadRequest(
            f"CustomerNumber {named} in the body differs from customerNumber {customer}."
        )


def _item(items: ItemIndex, number: str, where: str) -> Item:
    item = items.find(number)
    if item is None:
        raise BadRequest(f"{where} '{number}' is not a ScanSource item.")
    return item


def _zone(postal_code: str | None) -> int:
    """2-8, like carrier zones: a stable function of the postal code's first characters."""
    if not postal_code:
        return 5
    return 2 + seed_int("zone", postal_code.replace(" ", "")[:3].upper()) % 7


def ship_quote(data: Any, customer: str, items: ItemIndex) -> Json:
    body = Body(data)
    check_customer(body, customer)
    _business_unit(body)
    country = (body.text("ShipToCountryCode", required=True) or "").upper()
    if len(country) != 2 or not country.isalpha():
        raise BadRequest("ShipToCountryCode must be a 2-letter ISO country code.")
    state = body.text("ShipToStateProvinceCode")
    if state is not None and (len(state) > 3 or not state.isalnum()):
        raise BadRequest("ShipToStateProvinceCode must be an ISO 3166-2 subdivision code.")
    weight = 0.0
    value_usd_cents = 0
    for i, raw in enumerate(body.array("Lines", required=True)):
        line = Body(raw, f"Lines[{i}]")
        number = line.text("ItemNumber", required=True) or ""
        quantity = line.integer("Quantity", required=True) or 0
        item = _item(items, number, line.name("ItemNumber"))
        weight += item.weight_lb * quantity
        value_usd_cents += item.price_usd_cents * quantity
    region = region_of(country)
    currency = REGION_CURRENCY[region]
    zone = _zone(body.text("ShipToPostalCode"))
    billable = max(1, math.ceil(weight))

    def quote(description: str, service: str) -> Json:
        base, per_lb = _RATES[service]
        cents = (base + per_lb * billable) * (1 + (zone - 2) * 0.08)
        return {
            "ServiceLevelCode": SERVICE_LEVELS[description],
            "Description": description,
            "Freight": round(cents * FX[currency]) / 100,
        }

    parcel = [o for o in SHIPPING_OPTIONS[region] if o[2] != "LTL"]
    freight = [o for o in SHIPPING_OPTIONS[region] if o[2] == "LTL"]
    return {
        "Items": [quote(desc, service) for desc, _, service in parcel],
        "ThirdPartyItems": [quote(desc, service) for desc, _, service in freight]
        if weight >= LTL_MIN_WEIGHT_LB
        else [],
        "Insurance": round(value_usd_cents * INSURANCE_RATE * FX[currency]) / 100,
        "CurrencyCode": currency,
    }


def vrd(data: Any, customer: str, items: ItemIndex) -> Json:
    body = Body(data)
    check_customer(body, customer)
    _business_unit(body)
    numbers = body.strings("ItemNumbers", required=True)
    fields: dict[str, Json] = {}
    for i, number in enumerate(numbers):
        item = _item(items, number, f"ItemNumbers[{i}]")
        for field_id, description, length, required, kind, choices in VRD_FIELDS.get(
            item.mfr_code, ()
        ):
            fields.setdefault(
                field_id,
                {
                    "ID": field_id,
                    "FieldDescription": description,
                    "FieldLength": length,
                    "Required": required,
                    "FieldType": kind,
                    "ComboBoxItems": [{"Value": v, "Text": t} for v, t in choices],
                },
            )
    return {"VRDItems": list(fields.values())}
