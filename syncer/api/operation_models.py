"""Request and response models of the nine operations (reference §3), API names → Python names.

Responses are as tolerant as the sync's models in `syncer.api.models` (nulls, missing arrays, `10.0`
for 10, odd date formats), whose field types they reuse; the order detail itself is
`syncer.api.models.SalesOrderDetail`. Requests are strict: a request the API would refuse fails here
with a readable message, before any call, and a misspelt field is an error, not silently dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
)

from syncer.api.models import (
    Address,
    Day,
    Items,
    Num,
    ScheduleLine,
    Text,
    Timestamp,
    Whole,
    describe_validation,
)
from syncer.errors import PayloadError


def _flag(v: Any) -> Any:
    """Booleans as .NET may send them: true/false, or the strings "true"/"false"."""
    if isinstance(v, str) and v.strip().lower() in ("true", "false"):
        return v.strip().lower() == "true"
    return v


Flag = Annotated[bool | None, BeforeValidator(_flag)]


class _Response(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class _Request(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, str_strip_whitespace=True
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON body: API names, unset optional fields left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


M = TypeVar("M", bound=BaseModel)


def parse_model(model: type[M], payload: Any, what: str) -> M:
    """Validate `payload` as `model`; a PayloadError naming `what` and the fields otherwise."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise PayloadError(f"{what}: {describe_validation(exc)}") from None


def parse_rows(model: type[M], payload: Any, what: str) -> list[M]:
    if not isinstance(payload, list):
        raise PayloadError(f"{what}: expected a JSON array, got {type(payload).__name__}")
    return [parse_model(model, row, f"{what} row {i}") for i, row in enumerate(payload)]


# -- list (§3.1) and summary (§3.2) ------------------------------------------------------------


class ListLine(_Response):
    line_number: Whole = Field(None, alias="LineNumber")
    po_line_number: Whole = Field(None, alias="POLineNumber")
    item_number: Text = Field(None, alias="ItemNumber")
    product_mfr_part: Text = Field(None, alias="ProductMfrPart")
    ordered: Num = Field(None, alias="Ordered")
    committed: Num = Field(None, alias="Committed")
    back_ordered: Num = Field(None, alias="BackOrdered")
    shipped: Num = Field(None, alias="Shipped")
    canceled: Num = Field(None, alias="Canceled")
    price: Num = Field(None, alias="Price")
    currency: Text = Field(None, alias="Currency")
    schedule_lines: Items[ScheduleLine] = Field(default_factory=list, alias="ScheduleLines")


class SalesOrderListRow(_Response):
    """A row of the list operation: the order's header and line quantities."""

    order_number: Text = Field(None, alias="OrderNumber")
    po_number: Text = Field(None, alias="PONumber")
    end_user_po: Text = Field(None, alias="EndUserPO")
    reference_number: Text = Field(None, alias="ReferenceNumber")
    doc_type: Text = Field(None, alias="DocType")
    sales_rep_code: Text = Field(None, alias="SalesRepCode")
    status: Text = Field(None, alias="Status")
    billing_address: Address | None = Field(None, alias="BillingAddress")
    shipping_address: Address | None = Field(None, alias="ShippingAddress")
    shipping_option_description: Text = Field(None, alias="ShippingOptionDescription")
    freight_amount: Num = Field(None, alias="FreightAmount")
    entered_by_email: Text = Field(None, alias="EnteredByEmail")
    total: Num = Field(None, alias="Total")
    currency: Text = Field(None, alias="Currency")
    lines: Items[ListLine] = Field(default_factory=list, alias="SalesOrderLines")
    date_entered: Timestamp = Field(None, alias="DateEntered")
    last_changed: Timestamp = Field(None, alias="LastChanged")


class OrderSummary(_Response):
    """A row of the summary operation: the cheapest way to see what changed."""

    order_number: Text = Field(None, alias="OrderNumber")
    po_number: Text = Field(None, alias="PONumber")
    doc_type: Text = Field(None, alias="DocType")
    status: Text = Field(None, alias="Status")
    total: Num = Field(None, alias="Total")
    date_entered: Timestamp = Field(None, alias="DateEntered")
    last_changed: Timestamp = Field(None, alias="LastChanged")


# -- serials (§3.4) and tracking (§3.5) --------------------------------------------------------


class SerialInfo(_Response):
    order_number: Text = Field(None, alias="OrderNumber")
    order_line_number: Text = Field(None, alias="OrderLineNumber")  # a string on the wire
    po_number: Text = Field(None, alias="PONumber")
    invoice_number: Text = Field(None, alias="InvoiceNumber")
    item_number: Text = Field(None, alias="ItemNumber")
    manufacturer_item_number: Text = Field(None, alias="ManufacturerItemNumber")
    manufacturer: Text = Field(None, alias="Manufacturer")
    serial_number: Text = Field(None, alias="SerialNumber")
    billing_date: Timestamp = Field(None, alias="BillingDate")


class CarrierTracking(_Response):
    carrier: Text = Field(None, alias="Carrier")
    tracking_number: Text = Field(None, alias="TrackingNumber")


class TrackingDelivery(_Response):
    delivery_number: Text = Field(None, alias="DeliveryNumber")
    ship_date: Day = Field(None, alias="ShipDate")
    ship_method: Text = Field(None, alias="ShipMethod")
    tracking_numbers: Items[CarrierTracking] = Field(default_factory=list, alias="TrackingNumbers")


class TrackingOrder(_Response):
    order_number: Text = Field(None, alias="OrderNumber")
    deliveries: Items[TrackingDelivery] = Field(default_factory=list, alias="Deliveries")


class TrackingResponse(_Response):
    orders: Items[TrackingOrder] = Field(default_factory=list, alias="Orders")


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


class ShipQuoteItem(_Response):
    service_level_code: Text = Field(None, alias="ServiceLevelCode")
    description: Text = Field(None, alias="Description")
    freight: Num = Field(None, alias="Freight")


class ShipQuoteResponse(_Response):
    items: Items[ShipQuoteItem] = Field(default_factory=list, alias="Items")
    third_party_items: Items[ShipQuoteItem] = Field(default_factory=list, alias="ThirdPartyItems")
    insurance: Num = Field(None, alias="Insurance")
    currency_code: Text = Field(None, alias="CurrencyCode")


class VrdRequest(_Request):
    customer_number: str | None = Field(None, alias="CustomerNumber", max_length=10)
    business_unit: str = Field(alias="BusinessUnit", pattern=r"^\d+$")
    item_numbers: list[Annotated[str, Field(min_length=1)]] = Field(
        alias="ItemNumbers", min_length=1
    )


class ComboBoxItem(_Response):
    value: Text = Field(None, alias="Value")
    text: Text = Field(None, alias="Text")


class VrdItem(_Response):
    id: Text = Field(None, alias="ID")
    field_description: Text = Field(None, alias="FieldDescription")
    field_length: Whole = Field(None, alias="FieldLength")
    required: Flag = Field(None, alias="Required")
    field_type: Text = Field(None, alias="FieldType")
    combo_box_items: Items[ComboBoxItem] = Field(default_factory=list, alias="ComboBoxItems")


class VrdResponse(_Response):
    vrd_items: Items[VrdItem] = Field(default_factory=list, alias="VRDItems")


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


class ApiMessage(_Response):
    code: Text = Field(None, alias="Code")
    message: Text = Field(None, alias="Message")


class CancelResult(_Response):
    sales_order_number: Text = Field(None, alias="SalesOrderNumber")
    # True means SAP rejected (cancelled) the order; False with errors means it could not.
    order_rejected: Flag = Field(None, alias="OrderRejected")
    errors: Items[ApiMessage] = Field(default_factory=list, alias="Errors")
    warnings: Items[ApiMessage] = Field(default_factory=list, alias="Warnings")

    @property
    def cancelled(self) -> bool:
        return self.order_rejected is True
