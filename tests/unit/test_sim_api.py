"""The simulator's HTTP contract: tokens, auth errors, list paging and filters, detail shapes."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import aiohttp
import orjson
import pytest

from syncer.sim import FakeClock, RunningSim, SimConfig, Simulator, Subscription, run_simulator

START = datetime(2024, 3, 7, 19, 15, tzinfo=UTC)  # 2:15 PM Eastern
OTHER = Subscription("other-client", "other-secret", "other-key", ("2000099999",))
DEMO = SimConfig().subscriptions[0]
CUSTOMER = DEMO.customer_numbers[0]

LIST_KEYS = {
    "OrderNumber", "PONumber", "EndUserPO", "ReferenceNumber", "DocType", "SalesRepCode",
    "Status", "BillingAddress", "ShippingAddress", "ShippingOptionDescription", "FreightAmount",
    "EnteredByEmail", "Total", "Currency", "SalesOrderLines", "DateEntered", "LastChanged",
}  # fmt: skip
LIST_LINE_KEYS = {
    "LineNumber", "POLineNumber", "ItemNumber", "ProductMfrPart", "Ordered", "Committed",
    "BackOrdered", "Shipped", "Canceled", "Price", "Currency",
}  # fmt: skip
ADDRESS_KEYS = {"Name", "Attn", "Street1", "Street2", "City", "State", "PostalCode", "Country"}
DETAIL_KEYS = {
    "SalesOrderNumber", "BillingAddress", "ShippingAddress", "PONumber", "EndUserPO",
    "ReferenceNumber", "DocType", "Status", "LastShipDate", "Memo", "SalesRepCode",
    "SalesRepName", "SalesRepEmail", "InsuranceAmount", "TaxAmount", "Total", "Currency",
    "EnteredByEmail", "ShippingOptionDescription", "FreightAmount", "SalesOrderLines",
    "InvoiceNumbers", "TrackingNumbers", "Deliveries",
}  # fmt: skip
DETAIL_LINE_KEYS = LIST_LINE_KEYS | {
    "ReferenceLineNumber", "CustomerPartNumber", "CustomerPartReference", "ProductDescription",
    "ItemCatCode", "ItemCatDesc", "MatlGrpCode", "MatlGrpDesc", "RejectReason", "SerialNumbers",
    "ScheduleLines",
}  # fmt: skip
DELIVERY_KEYS = {"DeliveryDocumentNumber", "DeliveryStatus", "Parcels", "LineItems", "ShippedDate"}
PARCEL_KEYS = {
    "CartonNumber",
    "CarrierCode",
    "TrackingType",
    "TrackingNumber",
    "Weight",
    "WeightUOM",
}
LINE_ITEM_KEYS = {
    "DeliveryDocumentLineNumber", "OrderLineNumber", "ItemNumber", "QuantityOrdered",
    "QuantityPicked", "QuantityScanned", "QuantityShipped", "QuantityCanceled", "LineItemDetails",
}  # fmt: skip
DETAIL_ROW_KEYS = {"CartonNumber", "SerialNumber", "MACAddress", "MACAddressUnformatted"}


class Api:
    """A plain aiohttp caller that knows the simulator's URLs and demo credentials."""

    def __init__(self, http: aiohttp.ClientSession, running: RunningSim) -> None:
        self.http = http
        self.running = running

    async def token(self, sub: Subscription = DEMO, **form: str) -> tuple[int, Any]:
        body = {
            "grant_type": "client_credentials",
            "client_id": sub.client_id,
            "client_secret": sub.client_secret,
            "scope": self.running.scope,
            **form,
        }
        async with self.http.post(self.running.token_url, data=body) as r:
            return r.status, await r.json()

    async def headers(self, sub: Subscription = DEMO) -> dict[str, str]:
        status, body = await self.token(sub)
        assert status == 200
        return {
            "Ocp-Apim-Subscription-Key": sub.subscription_key,
            "Authorization": f"Bearer {body['access_token']}",
        }

    async def get(
        self, op: str, params: dict[str, str], headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        hdrs = await self.headers() if headers is None else headers
        async with self.http.get(f"{self.running.base_url}/{op}", params=params, headers=hdrs) as r:
            assert r.content_type == "application/json"
            return r.status, orjson.loads(await r.read())


def make_sim(**overrides: Any) -> Simulator:
    config = SimConfig(subscriptions=(DEMO, OTHER), orders_per_account=50, **overrides)
    return Simulator(config, FakeClock(START))


@pytest.fixture(scope="module")
async def api() -> AsyncIterator[Api]:
    async with run_simulator(make_sim()) as running, aiohttp.ClientSession() as http:
        yield Api(http, running)


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = orjson.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


# -- token endpoint ---------------------------------------------------------------------------


async def test_token_endpoint_issues_azure_shaped_bearer_token(api: Api) -> None:
    status, body = await api.token()
    assert status == 200
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == body["ext_expires_in"] == 3599
    claims = jwt_claims(body["access_token"])
    assert claims["azp"] == "demo-client"
    assert claims["roles"] == ["app.access"]
    assert claims["ver"] == "2.0"
    assert claims["aud"] in api.running.scope
    assert claims["iat"] == int(START.timestamp())
    assert claims["exp"] - claims["iat"] == 3599


async def test_token_endpoint_refuses_a_wrong_secret_without_echoing_it(api: Api) -> None:
    status, body = await api.token(client_secret="not-the-secret-123")
    assert status == 401
    assert body["error"] == "invalid_client"
    assert "not-the-secret-123" not in orjson.dumps(body).decode()


async def test_token_endpoint_refuses_an_unknown_client(api: Api) -> None:
    status, body = await api.token(client_id="nobody")
    assert (status, body["error"]) == (401, "invalid_client")


async def test_token_endpoint_refuses_other_grant_types(api: Api) -> None:
    status, body = await api.token(grant_type="password")
    assert (status, body["error"]) == (400, "unsupported_grant_type")


async def test_token_endpoint_accepts_any_tenant_and_basic_client_auth(api: Api) -> None:
    url = api.running.token_url.replace("scansourceb2c.onmicrosoft.com", "other-tenant")
    basic = base64.b64encode(b"demo-client:demo-secret").decode()
    form = {"grant_type": "client_credentials", "scope": api.running.scope}
    async with api.http.post(url, data=form, headers={"Authorization": f"Basic {basic}"}) as r:
        assert r.status == 200
        assert jwt_claims((await r.json())["access_token"])["azp"] == "demo-client"


# -- gateway auth -----------------------------------------------------------------------------


async def test_missing_subscription_key_is_401_with_the_apim_message(api: Api) -> None:
    headers = await api.headers()
    del headers["Ocp-Apim-Subscription-Key"]
    assert await api.get("list", {"customerNumber": CUSTOMER}, headers) == (
        401,
        {
            "statusCode": 401,
            "message": "Access denied due to missing subscription key. Make sure to include "
            "subscription key when making requests to an API.",
        },
    )


async def test_unknown_subscription_key_is_401_invalid_key(api: Api) -> None:
    headers = {**await api.headers(), "Ocp-Apim-Subscription-Key": "wrong"}
    status, body = await api.get("list", {"customerNumber": CUSTOMER}, headers)
    assert status == 401
    assert body["statusCode"] == 401
    assert body["message"].startswith("Access denied due to invalid subscription key.")


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer not.a.jwt", "TOKEN", "Basic x"])
async def test_missing_or_invalid_bearer_is_401_unauthorized(
    api: Api, authorization: str | None
) -> None:
    headers = await api.headers()
    if authorization is None:
        del headers["Authorization"]
    elif authorization == "TOKEN":  # the token without its Bearer scheme
        headers["Authorization"] = headers["Authorization"].removeprefix("Bearer ")
    else:
        headers["Authorization"] = authorization
    assert await api.get("list", {"customerNumber": CUSTOMER}, headers) == (
        401,
        {"statusCode": 401, "message": "Unauthorized! Access token is missing or invalid."},
    )


async def test_tampered_token_is_401(api: Api) -> None:
    headers = await api.headers()
    head, claims, sig = headers["Authorization"].removeprefix("Bearer ").split(".")
    forged = base64.urlsafe_b64encode(
        orjson.dumps({**jwt_claims(f"x.{claims}.y"), "exp": 9999999999})
    ).rstrip(b"=")
    headers["Authorization"] = f"Bearer {head}.{forged.decode()}.{sig}"
    status, _ = await api.get("list", {"customerNumber": CUSTOMER}, headers)
    assert status == 401


async def test_token_of_another_subscriptions_client_is_401(api: Api) -> None:
    other = await api.headers(OTHER)
    headers = {**other, "Ocp-Apim-Subscription-Key": DEMO.subscription_key}
    status, body = await api.get("list", {"customerNumber": CUSTOMER}, headers)
    assert (status, body["message"]) == (401, "Unauthorized! Access token is missing or invalid.")


async def test_missing_customer_number_is_400(api: Api) -> None:
    status, body = await api.get("list", {})
    assert (status, body["statusCode"]) == (400, 400)
    assert "customerNumber" in body["message"]


async def test_customer_number_of_another_subscription_is_403(api: Api) -> None:
    for op, extra in (("list", {}), ("detail", {"salesOrderNumber": "7000000000"})):
        status, body = await api.get(op, {"customerNumber": "2000099999", **extra})
        assert (status, body["statusCode"]) == (403, 403)
        assert "2000099999" in body["message"]


# -- detail errors ----------------------------------------------------------------------------


async def test_detail_of_unknown_order_is_404_with_message(api: Api) -> None:
    params = {"customerNumber": CUSTOMER, "salesOrderNumber": "1234567890"}
    assert await api.get("detail", params) == (
        404,
        {"statusCode": 404, "message": "Sales order 1234567890 not found."},
    )


async def test_detail_of_another_customers_order_is_403(api: Api) -> None:
    foreign = api.running.sim.order_numbers(DEMO.customer_numbers[1])[0]
    status, body = await api.get(
        "detail", {"customerNumber": CUSTOMER, "salesOrderNumber": foreign}
    )
    assert (status, body["statusCode"]) == (403, 403)


async def test_detail_without_sales_order_number_is_400(api: Api) -> None:
    status, body = await api.get("detail", {"customerNumber": CUSTOMER})
    assert (status, body["statusCode"]) == (400, 400)
    assert "salesOrderNumber" in body["message"]


async def test_unknown_path_and_method_are_404_json(api: Api) -> None:
    status, body = await api.get("nope", {"customerNumber": CUSTOMER})
    assert (status, body) == (404, {"statusCode": 404, "message": "Resource not found"})
    async with api.http.delete(f"{api.running.base_url}/list") as r:
        assert r.status == 404
        assert (await r.json())["statusCode"] == 404


async def test_paths_and_parameter_names_match_case_insensitively(api: Api) -> None:
    number = api.running.sim.order_numbers(CUSTOMER)[3]
    url = api.running.base_url.upper().replace("HTTP://", "http://") + "/Detail"
    params = {"CUSTOMERNUMBER": CUSTOMER, "SalesOrderNumber": number}
    async with api.http.get(url, params=params, headers=await api.headers()) as r:
        assert r.status == 200
        assert (await r.json())["SalesOrderNumber"] == number


# -- list -------------------------------------------------------------------------------------


async def test_list_pages_end_with_a_short_page_and_past_the_end_is_empty(api: Api) -> None:
    sizes, seen = [], []
    for page in (1, 2, 3, 4):
        params = {"customerNumber": CUSTOMER, "page": str(page), "pageSize": "20"}
        status, rows = await api.get("list", params)
        assert status == 200
        sizes.append(len(rows))
        seen += [r["OrderNumber"] for r in rows]
    assert sizes == [20, 20, 10, 0]
    assert seen == sorted(seen) == api.running.sim.order_numbers(CUSTOMER)


async def test_list_defaults_to_page_one_of_one_hundred(api: Api) -> None:
    status, rows = await api.get("list", {"customerNumber": CUSTOMER})
    assert (status, len(rows)) == (200, 50)


async def test_old_list_form_takes_the_customer_from_the_path(api: Api) -> None:
    status, rows = await api.get(f"list/{CUSTOMER}", {"pageSize": "5"})
    assert status == 200
    assert [r["OrderNumber"] for r in rows] == api.running.sim.order_numbers(CUSTOMER)[:5]


async def test_page_size_above_the_maximum_is_clamped() -> None:
    async with run_simulator(make_sim(max_page_size=15)) as running, aiohttp.ClientSession() as h:
        status, rows = await Api(h, running).get(
            "list", {"customerNumber": CUSTOMER, "pageSize": "1000"}
        )
    assert (status, len(rows)) == (200, 15)


@pytest.mark.parametrize(("name", "value"), [("pageSize", "0"), ("page", "abc"), ("page", "-1")])
async def test_invalid_paging_is_400(api: Api, name: str, value: str) -> None:
    status, body = await api.get("list", {"customerNumber": CUSTOMER, name: value})
    assert (status, body["statusCode"]) == (400, 400)
    assert name in body["message"]


@pytest.mark.parametrize("value", ["2024-13-01", "03/07/2024", "yesterday", "2024-3-7"])
async def test_malformed_date_filter_is_400_with_a_readable_message(api: Api, value: str) -> None:
    status, body = await api.get("list", {"customerNumber": CUSTOMER, "fromLastChangeDate": value})
    assert status == 400
    assert body["message"] == (
        f"The value '{value}' is not a valid date for fromLastChangeDate; use YYYY-MM-DD."
    )


def us_date(stamp: str) -> date:
    return datetime.strptime(stamp, "%m/%d/%Y %I:%M %p").date()


async def test_date_filters_select_whole_eastern_days_inclusive(api: Api) -> None:
    _, everything = await api.get("list", {"customerNumber": CUSTOMER})
    days = sorted({us_date(r["LastChanged"]) for r in everything})
    lo, hi = days[len(days) // 3], days[2 * len(days) // 3]
    params = {
        "customerNumber": CUSTOMER,
        "fromLastChangeDate": str(lo),
        "toLastChangeDate": str(hi),
    }
    _, rows = await api.get("list", params)
    expected = [r["OrderNumber"] for r in everything if lo <= us_date(r["LastChanged"]) <= hi]
    assert [r["OrderNumber"] for r in rows] == expected
    assert {us_date(r["LastChanged"]) for r in rows} >= {lo, hi}  # both ends included
    entered = {"customerNumber": CUSTOMER, "fromDate": str(lo), "toDate": str(lo)}
    _, rows = await api.get("list", entered)
    assert [r["OrderNumber"] for r in rows] == [
        r["OrderNumber"] for r in everything if us_date(r["DateEntered"]) == lo
    ]


async def test_a_filtered_search_read_page_by_page_sees_changes_between_pages() -> None:
    """The simulator keeps a search's matches for its next page: a change between two page
    reads must still show, as the real API's fresh query per page would show it."""
    clock = FakeClock(START)
    sim = Simulator(SimConfig(subscriptions=(DEMO,), orders_per_account=50), clock)
    async with run_simulator(sim) as running, aiohttp.ClientSession() as http:
        api = Api(http, running)
        query = {"customerNumber": CUSTOMER, "toLastChangeDate": "2024-03-07", "pageSize": "10"}
        _, whole = await api.get("list", {**query, "pageSize": "100"})
        numbers = [r["OrderNumber"] for r in whole]
        pages = [await api.get("list", {**query, "page": str(p)}) for p in range(1, 7)]
        assert [r["OrderNumber"] for _, rows in pages for r in rows] == numbers
        _, first = await api.get("list", {**query, "page": "1"})
        clock.set(START.replace(day=9))
        sim.touch(CUSTOMER, numbers[12])  # now changed after the to-date: no longer matches
        _, second = await api.get("list", {**query, "page": "2"})
    assert [r["OrderNumber"] for r in first] == numbers[:10]
    assert [r["OrderNumber"] for r in second] == numbers[10:12] + numbers[13:21]


async def test_list_text_filters_match_their_fields(api: Api) -> None:
    _, everything = await api.get("list", {"customerNumber": CUSTOMER})
    sample = everything[7]
    cases = {
        "salesOrderNumber": ("OrderNumber", sample["OrderNumber"]),
        "poNumber": ("PONumber", sample["PONumber"]),
        "status": ("Status", sample["Status"].upper()),
        "shippingCity": ("ShippingAddress", sample["ShippingAddress"]["City"].lower()),
        "docType": ("DocType", sample["DocType"]),
    }
    for param, (field, value) in cases.items():
        _, rows = await api.get("list", {"customerNumber": CUSTOMER, param: value})
        expected = [
            r["OrderNumber"]
            for r in everything
            if (r[field]["City"] if field == "ShippingAddress" else r[field]).lower()
            == value.lower()
        ]
        assert expected
        assert [r["OrderNumber"] for r in rows] == expected, param


async def test_list_rows_have_exactly_the_reference_keys(api: Api) -> None:
    _, rows = await api.get("list", {"customerNumber": CUSTOMER, "pageSize": "10"})
    for row in rows:
        assert set(row) == LIST_KEYS
        assert set(row["BillingAddress"]) == set(row["ShippingAddress"]) == ADDRESS_KEYS
        assert all(set(line) == LIST_LINE_KEYS for line in row["SalesOrderLines"])
        assert all(isinstance(line["Ordered"], int) for line in row["SalesOrderLines"])
    params = {"customerNumber": CUSTOMER, "pageSize": "10", "includeScheduleLines": "true"}
    _, rows = await api.get("list", params)
    lines = [line for row in rows for line in row["SalesOrderLines"]]
    assert all(set(line) == LIST_LINE_KEYS | {"ScheduleLines"} for line in lines)


async def test_list_stamps_use_us_format_in_eastern_time() -> None:
    sim = make_sim()
    number = sim.order_numbers(CUSTOMER)[0]
    sim.touch(CUSTOMER, number)  # LastChanged := the clock's minute, 19:15 UTC
    async with run_simulator(sim) as running, aiohttp.ClientSession() as http:
        _, rows = await Api(http, running).get(
            "list", {"customerNumber": CUSTOMER, "pageSize": "1"}
        )
    assert rows[0]["LastChanged"] == "3/7/2024 2:15 PM"


# -- detail -----------------------------------------------------------------------------------


def shipped_order(sim: Simulator) -> str:
    """An order with serials, MAC addresses and a null-serial detail row among its deliveries."""
    for number in sim.order_numbers(CUSTOMER):
        d = orjson.loads(sim.detail_bytes(sim.find(number), False))  # type: ignore[arg-type]
        details = [
            x for dv in d["Deliveries"] for li in dv["LineItems"] for x in li["LineItemDetails"]
        ]
        if any(x["MACAddress"] for x in details) and d["TrackingNumbers"]:
            return number
    raise AssertionError("no shipped network order in the sample")


async def test_detail_has_exactly_the_reference_keys(api: Api) -> None:
    for number in api.running.sim.order_numbers(CUSTOMER)[:25]:
        status, d = await api.get(
            "detail",
            {
                "customerNumber": CUSTOMER,
                "salesOrderNumber": number,
                "excludeSerialTracking": "false",
            },
        )
        assert status == 200
        assert set(d) == DETAIL_KEYS
        assert set(d["BillingAddress"]) == set(d["ShippingAddress"]) == ADDRESS_KEYS
        assert all(set(line) == DETAIL_LINE_KEYS for line in d["SalesOrderLines"])
        for dv in d["Deliveries"]:
            assert set(dv) == DELIVERY_KEYS
            assert all(set(p) == PARCEL_KEYS for p in dv["Parcels"])
            for li in dv["LineItems"]:
                assert set(li) == LINE_ITEM_KEYS
                assert all(set(x) == DETAIL_ROW_KEYS for x in li["LineItemDetails"])


async def test_exclude_serial_tracking_empties_serials_and_tracking(api: Api) -> None:
    number = shipped_order(api.running.sim)
    params = {"customerNumber": CUSTOMER, "salesOrderNumber": number}
    _, full = await api.get("detail", {**params, "excludeSerialTracking": "false"})
    _, lean = await api.get("detail", {**params, "excludeSerialTracking": "true"})
    assert full["TrackingNumbers"] and not lean["TrackingNumbers"]
    assert any(line["SerialNumbers"] for line in full["SalesOrderLines"])
    assert all(line["SerialNumbers"] == [] for line in lean["SalesOrderLines"])
    for dv in lean["Deliveries"]:
        assert all(p["TrackingNumber"] is None for p in dv["Parcels"])
        assert all(li["LineItemDetails"] == [] for li in dv["LineItems"])
    assert lean["InvoiceNumbers"] == full["InvoiceNumbers"]
    assert len(lean["Deliveries"]) == len(full["Deliveries"])


async def test_bad_exclude_serial_tracking_is_400(api: Api) -> None:
    number = api.running.sim.order_numbers(CUSTOMER)[0]
    params = {
        "customerNumber": CUSTOMER,
        "salesOrderNumber": number,
        "excludeSerialTracking": "maybe",
    }
    status, _ = await api.get("detail", params)
    assert status == 400


async def test_same_seed_gives_identical_payloads_and_another_seed_does_not() -> None:
    pages: list[bytes] = []
    for seed in (7, 7, 8):
        sim = Simulator(SimConfig(seed=seed, orders_per_account=30), FakeClock(START))
        async with run_simulator(sim) as running, aiohttp.ClientSession() as http:
            api = Api(http, running)
            _, rows = await api.get(
                "list", {"customerNumber": CUSTOMER, "includeScheduleLines": "true"}
            )
            details = [
                (await api.get("detail", {"customerNumber": CUSTOMER, "salesOrderNumber": n}))[1]
                for n in sim.order_numbers(CUSTOMER)
            ]
        pages.append(orjson.dumps([rows, details]))
    assert pages[0] == pages[1]
    assert pages[0] != pages[2]
