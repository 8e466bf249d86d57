"""Request and response models of the nine operations (docs/api.md §3), API names → Python names.

Responses are described as the detail is, in `syncer.api.payload`: msgspec structs whose field
kinds carry the API's tolerance (nulls, missing arrays, `10.0` for 10, odd date formats); where
an answer shows the detail's objects (an address, a line, its schedule lines) it is the same
struct. Requests are strict (pydantic): a request the API would refuse fails here with a
readable message, before any call, and a misspelt field is an error, not silently dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, TypeVar

from msgspec import field
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer

from syncer.api.payload import Address, Line
from syncer.api.reading import read
from syncer.api.values import Day, Flag, Num, Object, Text, Timestamp, Whole, items
from syncer.errors import PayloadError


class _Request(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, str_strip_whitespace=True
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: API names, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def describe_validation(exc: ValidationError, limit: int = 5) -> str:
    """'Lines.0.Quantity: ...' — a request's problems, readable and bounded."""
    parts = []
    for err in exc.errors()[:limit]:
        where = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}")
    more = exc.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


M = TypeVar("M", bound=Object)


def parse_model(model: type[M], payload: Any, what: str) -> M:
    """`payload` read as `model`; a PayloadError naming `what` and the field otherwise."""
    if not isinstance(payload, dict):
        raise PayloadError(f"{what}: expected a JSON object, got {type(payload).__name__}")
    try:
        return read(model, payload)
    except PayloadError as exc:
        raise PayloadError(f"{what}: {exc}") from None


def parse_rows(model: type[M], payload: Any, what: str) -> list[M]:
    if not isinstance(payload, list):
        raise PayloadError(f"{what}: expected a JSON array, got {type(payload).__name__}")
    return [parse_model(model, row, f"{what} row {i}") for i, row in enumerate(payload)]


# -- list (§3.1) and summary (§3.2) ------------------------------------------------------------

# A list row's lines are the detail's lines, with fewer fields filled (docs/api.md §3.1).
ListLine = Line


class SalesOrderListRow(Object):
    """A row of the list operation: the order's header and line quantities."""

    order_number: Text = None
    po_number: Text = field(default=None, name="PONumber")
    end_user_po: Text = field(default=None, name="EndUserPO")
    reference_number: Text = None
    doc_type: Text = None
    sales_rep_code: Text = None
    status: Text = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    shipping_option_description: Text = None
    freight_amount: Num = None
    entered_by_email: Text = None
    total: Num = None
    currency: Text = None
    lines: list[Line] = field(default_factory=list, name="SalesOrderLines")
    date_entered: Timestamp = None
    last_changed: Timestamp = None


class OrderSummary(Object):
    """A row of the summary operation: the cheapest way to see what changed."""

    order_number: Text = None
    po_number: Text = field(default=None, name="PONumber")
    doc_type: Text = None
    status: Text = None
    total: Num = None
    date_entered: Timestamp = None
    last_changed: Timestamp = None


# -- serials (§3.4) and tracking (§3.5) --------------------------------------------------------


class SerialInfo(Object):
    order_number: Text = None
    order_line_number: Text = None  # a string on the wire
    po_number: Text = field(default=None, name="PONumber")
    invoice_number: Text = None
    item_number: Text = None
    manufacturer_item_number: Text = None
    manufacturer: Text = None
    serial_number: Text = None
    billing_date: Timestamp = None


class CarrierTracking(Object):
    carrier: Text = None
    tracking_number: Text = None


class TrackingDelivery(Object):
    delivery_number: Text = None
    ship_date: Day = None
    ship_method: Text = None
    tracking_numbers: list[CarrierTracking] = items()


class TrackingOrder(Object):
    order_number: Text = None
    deliveries: list[TrackingDelivery] = items()


class TrackingResponse(Object):
    orders: list[TrackingOrder] = items()


# -- ship quote (§3.6) and VRD (§3.7) ----------------------------------------------------------


class ShipQuoteLine(_Request):
    item_number: str = Field(alias="ItemNumber", min_length=1)
    quantity: int = Field(alias="Quantity", ge=1)


class ShipQuoteRequest(_Request):
    customer_number: str | None = Field(None, alias="CustomerNumber", max_length=10)
    business_unit: str = Field(alias="BusinessUnit", pattern=r"^\d+$")
    ship_to_postal_code: str | None = Field(None, alias="ShipToPostalCode")
    ship_to_state_province_code: str | None = Field(
        None, alias="ShipToStateProvinceCode", max_length=3
    )
    ship_to_country_code: str = Field(alias="ShipToCountryCode", pattern=r"^[A-Za-z]{2}$")
    lines: list[ShipQuoteLine] = Field(alias="Lines", min_length=1)


class ShipQuoteItem(Object):
    service_level_code: Text = None
    description: Text = None
    freight: Num = None


class ShipQuoteResponse(Object):
    items: list[ShipQuoteItem] = field(default_factory=list)  # (`items` is taken here)
    third_party_items: list[ShipQuoteItem] = field(default_factory=list)
    insurance: Num = None
    currency_code: Text = None


class VrdRequest(_Request):
    customer_number: str | None = Field(None, alias="CustomerNumber", max_length=10)
    business_unit: str = Field(alias="BusinessUnit", pattern=r"^\d+$")
    item_numbers: list[Annotated[str, Field(min_length=1)]] = Field(
        alias="ItemNumbers", min_length=1
    )


class ComboBoxItem(Object):
    value: Text = None
    text: Text = None


class VrdItem(Object):
    id: Text = field(default=None, name="ID")
    field_description: Text = None
    field_length: Whole = None
    required: Flag = None
    field_type: Text = None
    combo_box_items: list[ComboBoxItem] = items()


class VrdResponse(Object):
    vrd_items: list[VrdItem] = field(default_factory=list, name="VRDItems")


# -- create order async (§3.8) and cancel (§3.9) -----------------------------------------------


class RequestAddress(_Request):
    name: str = Field(alias="Name", min_length=1, max_length=60)
    attn: str | None = Field(None, alias="Attn", max_length=60)
    street1: str = Field(alias="Street1", min_length=1, max_length=60)
    street2: str | None = Field(None, alias="Street2", max_length=60)
    city: str = Field(alias="City", min_length=1, max_length=40)
    state: str | None = Field(None, alias="State", max_length=3)
    postal_code: str | None = Field(None, alias="PostalCode", max_length=10)
    country: str = Field(alias="Country", pattern=r"^[A-Za-z]{2}$")


class ShippingInfo(_Request):
    ship_method_service_level_code: str | None = Field(
        None, alias="ShipMethodServiceLevelCode", max_length=10
    )
    shipping_address: RequestAddress | None = Field(None, alias="ShippingAddress")
    shipping_account_number: str | None = Field(None, alias="ShippingAccountNumber")
    ship_complete: bool | None = Field(None, alias="ShipComplete")


class PurchaseOrderLine(_Request):
    part_number: str = Field(alias="PartNumber", min_length=1, max_length=40)
    part_type: int | None = Field(None, alias="PartType", ge=0, le=3)  # 1 ScanSource, 2 mfr
    quantity: int = Field(alias="Quantity", ge=1)


class VrdAnswer(_Request):
    id: str = Field(alias="ID", min_length=1)
    value: str = Field(alias="Value")
    item_number: str | None = Field(None, alias="ItemNumber")


class PurchaseOrder(_Request):
    """POAsync: what create-order-async takes. No order number comes back; find the order
    later by `po_number` (or `reference_number`) with list or summary."""

    payer_id: str | None = Field(None, alias="PayerId", max_length=10)
    business_unit: int = Field(alias="BusinessUnit", ge=1)
    reference_number: str | None = Field(None, alias="ReferenceNumber", max_length=35)
    po_number: str = Field(alias="PONumber", min_length=1, max_length=35)
    end_user_po: str | None = Field(None, alias="EndUserPO", max_length=35)
    manufacturer_drop_ship: bool | None = Field(None, alias="ManufacturerDropShip")
    requested_delivery_date: date | None = Field(None, alias="RequestedDeliveryDate")
    entered_by_email_address: str | None = Field(None, alias="EnteredByEmailAddress")
    memo: str | None = Field(None, alias="Memo", max_length=500)
    shipping_info: ShippingInfo | None = Field(None, alias="ShippingInfo")
    deal_ids: list[str] | None = Field(None, alias="DealIds", max_length=3)
    contract_start_date: date | None = Field(None, alias="ContractStartDate")
    contract_end_date: date | None = Field(None, alias="ContractEndDate")
    extended_data: dict[str, Any] | None = Field(None, alias="ExtendedData")
    lines: list[PurchaseOrderLine] = Field(alias="Lines", min_length=1)
    vrd: list[VrdAnswer] | None = Field(None, alias="VRD")

    @field_serializer("requested_delivery_date", "contract_start_date", "contract_end_date")
    def _iso_day(self, value: date | None) -> str | None:
        return value.isoformat() if value else None  # a string field on the wire


class ApiMessage(Object):
    code: Text = None
    message: Text = None


class CancelResult(Object):
    sales_order_number: Text = None
    # True means SAP rejected (cancelled) the order; False with errors means it could not.
    order_rejected: Flag = None
    errors: list[ApiMessage] = items()
    warnings: list[ApiMessage] = items()

    @property
    def cancelled(self) -> bool:
        return self.order_rejected is True
