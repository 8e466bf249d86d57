"""Create-order-async's request: a POAsync body (docs/api.md §3.8) checked and turned into an
`OrderSpec`, the part of a placed order that the customer chose.

The real API validates asynchronously and a bad PO simply never becomes an order; the
simulator refuses it up front with a 400 naming the field, which is kinder to a caller.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from syncer.sim.books import Address
from syncer.sim.catalog import (
    REGION_CURRENCY,
    SERVICE_LEVELS,
    SHIPPING_OPTIONS,
    VRD_FIELDS,
    region_of,
)
from syncer.sim.fields import BadRequest, Body

if TYPE_CHECKING:
    from syncer.sim.items import Item

_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(T[\d:.]+([+-]\d{2}:\d{2}|Z)?)?")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
MAX_LINES = 500


@dataclass(frozen=True, slots=True)
class SpecLine:
    item_number: str  # the ScanSource item the PO line resolved to
    quantity: int
    po_line_number: int


@dataclass(frozen=True, slots=True)
class OrderSpec:
    business_unit: int
    po_number: str
    reference_number: str | None
    end_user_po: str | None
    memo: str | None
    entered_by_email: str | None
    ship_method_code: str | None
    ship_to: Address
    requested_delivery: date | None
    lines: tuple[SpecLine, ...]
    vrd: tuple[tuple[str, str], ...]  # (ID, Value) answers

    @property
    def currency(self) -> str:
        return REGION_CURRENCY[region_of(self.ship_to.country)]


FindItem = Callable[[str, "int | None"], "Item | None"]


def _date(body: Body, field: str) -> date | None:
    raw = body.text(field)
    if raw is None:
        return None
    m = _DATE.fullmatch(raw)
    try:
        if m:
            return date.fromisoformat(m.group(1))
    except ValueError:
        pass
    raise BadRequest(f"{body.name(field)} '{raw[:40]}' is not a date; use YYYY-MM-DD.")


def _address(body: Body) -> Address:
    country = body.text("Country", required=True) or ""
    if not _COUNTRY.fullmatch(country):
        raise BadRequest(f"{body.name('Country')} must be a 2-letter ISO country code.")
    return Address(
        name=body.text("Name", required=True, max_length=60) or "",
        attn=body.text("Attn", max_length=60),
        street1=body.text("Street1", required=True, max_length=60) or "",
        street2=body.text("Street2", max_length=60),
        city=body.text("City", required=True, max_length=40) or "",
        state=body.text("State", max_length=3) or "",
        postal_code=body.text("PostalCode", max_length=10) or "",
        country=country.upper(),
    )


def _lines(body: Body, find_item: FindItem) -> tuple[tuple[SpecLine, Item], ...]:
    raw = body.array("Lines", required=True)
    if len(raw) > MAX_LINES:
        raise BadRequest(f"Lines has {len(raw)} lines; at most {MAX_LINES} are accepted.")
    out = []
    for i, data in enumerate(raw):
        line = Body(data, f"Lines[{i}]")
        part = line.text("PartNumber", required=True, max_length=40) or ""
        part_type = line.integer("PartType", minimum=0)
        if part_type is not None and part_type > 3:
            raise BadRequest(f"{line.name('PartType')} must be 0, 1, 2 or 3.")
        quantity = line.integer("Quantity", required=True) or 0
        item = find_item(part, part_type)
        if item is None:
            raise BadRequest(
                f"{line.name('PartNumber')} '{part}' is not a ScanSource item or manufacturer part."
            )
        out.append((SpecLine(item.item_number, quantity, i + 1), item))
    return tuple(out)


def _vrd(body: Body, items: list[Item]) -> tuple[tuple[str, str], ...]:
    answers: dict[str, str] = {}
    for i, data in enumerate(body.array("VRD")):
        entry = Body(data, f"VRD[{i}]")
        answers[(entry.text("ID", required=True) or "").upper()] = entry.text("Value") or ""
    for item in items:
        for field_id, description, length, required, _kind, choices in VRD_FIELDS.get(
            item.mfr_code, ()
        ):
            value = answers.get(field_id, "")
            if required and not value:
                raise BadRequest(
                    f"VRD {field_id} ({description}) is required for item {item.item_number}; "
                    "the vrd operation lists what each item needs."
                )
            if len(value) > length:
                raise BadRequest(f"VRD {field_id} is longer than {length} characters.")
            if value and choices and value not in {c for c, _ in choices}:
                allowed = ", ".join(c for c, _ in choices)
                raise BadRequest(f"VRD {field_id} must be one of {allowed}.")
    return tuple(sorted(answers.items()))


def parse_order(data: Any, default_ship_to: Address, find_item: FindItem) -> OrderSpec:
    """Check a POAsync body; `default_ship_to` serves a PO without a shipping address."""
    body = Body(data)
    business_unit = body.integer("BusinessUnit", required=True) or 0
    memo = body.text("Memo", max_length=500)
    email = body.text("EnteredByEmailAddress", max_length=241)
    if email is not None and "@" not in email:
        raise BadRequest("EnteredByEmailAddress is not an e-mail address.")
    if len(body.strings("DealIds")) > 3:
        raise BadRequest("DealIds takes at most 3 deal ids.")
    body.boolean("ManufacturerDropShip")
    _date(body, "ContractStartDate")
    _date(body, "ContractEndDate")
    shipping = body.obj("ShippingInfo")
    address = shipping.obj("ShippingAddress") if shipping else None
    ship_to = _address(address) if address else default_ship_to
    code = shipping.text("ShipMethodServiceLevelCode", max_length=10) if shipping else None
    if code is not None:
        region = region_of(ship_to.country)
        offered = [SERVICE_LEVELS[o[0]] for o in SHIPPING_OPTIONS[region]]
        if code.upper() not in offered:
            raise BadRequest(
                f"ShippingInfo.ShipMethodServiceLevelCode '{code}' is not offered to "
                f"{ship_to.country} (offered: {', '.join(offered)})."
            )
    resolved = _lines(body, find_item)
    return OrderSpec(
        business_unit=business_unit,
        po_number=body.text("PONumber", required=True, max_length=35) or "",
        reference_number=body.text("ReferenceNumber", max_length=35),
        end_user_po=body.text("EndUserPO", max_length=35),
        memo=memo,
        entered_by_email=email,
        ship_method_code=code.upper() if code else None,
        ship_to=ship_to,
        requested_delivery=_date(body, "RequestedDeliveryDate"),
        lines=tuple(line for line, _ in resolved),
        vrd=_vrd(body, [item for _, item in resolved]),
    )
