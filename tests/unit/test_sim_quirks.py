"""§10 payload quirks change how an order is written, never what it says (except the long
unicode memo, which is data and shows in truth() too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest

from syncer.api.payload import decode, parse_list_row
from syncer.sim import FakeClock, FaultConfig, SimConfig, Simulator, payloads, quirks, run_simulator
from syncer.sim.faultconfig import QUIRKS

START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
DEMO = SimConfig().subscriptions[0]
CUSTOMER = DEMO.customer_numbers[0]


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(SimConfig(orders_per_account=80), FakeClock(START))


def details(sim: Simulator) -> list[dict[str, Any]]:
    return [payloads.detail(sim.view(s), False) for s in sim.orders_of(CUSTOMER)]


@pytest.mark.parametrize("quirk", QUIRKS)
def test_each_quirk_reads_back_as_the_same_order(sim: Simulator, quirk: str) -> None:
    changed = 0
    for plain in details(sim):
        chosen = frozenset({quirk})
        shown = quirks.apply(plain, chosen)
        body = quirks.dumps(shown, "ascii_escapes" in chosen)
        changed += body != orjson.dumps(plain)
        assert decode(body) == decode(orjson.dumps(plain))
    assert changed > 0, f"{quirk} never applied to 80 orders: the test proves nothing"


def test_all_quirks_at_once_read_back_as_the_same_order_and_list_row(sim: Simulator) -> None:
    everything = frozenset(QUIRKS)
    for s in sim.orders_of(CUSTOMER):
        plain = payloads.detail(sim.view(s), False)
        body = quirks.dumps(quirks.apply(plain, everything), ascii_escapes=True)
        assert decode(body) == decode(orjson.dumps(plain))
        row = payloads.list_row(sim.view(s), True)
        assert parse_list_row(quirks.apply(row, everything)) == parse_list_row(row)


def test_quirks_only_touch_what_carries_no_meaning() -> None:
    payload = {
        "SalesOrderNumber": "7000000001",
        "LastShipDate": None,
        "Memo": None,
        "SerialNumbers": [],
        "TrackingNumbers": ["1Z999"],
        "InvoiceNumbers": ["9000000001"],
        "Ordered": 10,
        "Flag": True,
    }
    shown = quirks.apply(payload, frozenset(QUIRKS) - {"missing_arrays"})
    assert shown == {
        "SalesOrderNumber": "7000000001",
        "LastShipDate": "",  # a null date may arrive as ""
        "Memo": None,  # a null memo may not: "" is a different memo
        "SerialNumbers": None,  # an empty array may arrive as null
        "TrackingNumbers": ["1Z999"],  # a full one may not
        "InvoiceNmbers": "9000000001",  # one invoice as a string, under the misspelt key
        "Ordered": 10.0,
        "Flag": True,  # a boolean is not an integer here
    }
    assert "SerialNumbers" not in quirks.apply(payload, frozenset({"missing_arrays"}))
    two = {**payload, "InvoiceNumbers": ["A1", "B2"]}
    assert quirks.apply(two, frozenset({"invoice_string"}))["InvoiceNumbers"] == ["A1", "B2"]


def test_ascii_escapes_write_astral_characters_as_surrogate_pairs() -> None:
    body = quirks.dumps({"Memo": "ü 📦"}, ascii_escapes=True)
    assert body == b'{"Memo":"\\u00fc \\ud83d\\udce6"}'
    assert orjson.loads(body) == {"Memo": "ü 📦"}


def test_quirks_are_chosen_per_order_and_the_same_every_time() -> None:
    numbers = [str(7_000_000_000 + i) for i in range(400)]
    first = [quirks.picks(1, n, 0.3, frozenset(QUIRKS)) for n in numbers]
    assert first == [quirks.picks(1, n, 0.3, frozenset(QUIRKS)) for n in numbers]
    share = sum("float_ints" in p for p in first) / len(numbers)
    assert 0.2 < share < 0.4
    assert first != [quirks.picks(2, n, 0.3, frozenset(QUIRKS)) for n in numbers]


async def test_the_api_serves_quirky_payloads_that_mean_the_same_order() -> None:
    plain_sim = Simulator(SimConfig(orders_per_account=40), FakeClock(START))
    quirky_sim = Simulator(
        SimConfig(orders_per_account=40, faults=FaultConfig(quirk_rate=0.5)), FakeClock(START)
    )
    bodies: dict[str, list[bytes]] = {}
    for name, sim in (("plain", plain_sim), ("quirky", quirky_sim)):
        async with run_simulator(sim) as running, aiohttp.ClientSession() as http:
            form = {"grant_type": "client_credentials", "client_id": DEMO.client_id,
                    "client_secret": DEMO.client_secret, "scope": running.scope}  # fmt: skip
            async with http.post(running.token_url, data=form) as r:
                token = (await r.json())["access_token"]
            headers = {"Ocp-Apim-Subscription-Key": DEMO.subscription_key,
                       "Authorization": f"Bearer {token}"}  # fmt: skip
            out = bodies.setdefault(name, [])
            params = {"customerNumber": CUSTOMER, "pageSize": "1000"}
            async with http.get(f"{running.base_url}/list", params=params, headers=headers) as r:
                out.append(await r.read())
            for n in sim.order_numbers(CUSTOMER):
                q = {"customerNumber": CUSTOMER, "salesOrderNumber": n}
                async with http.get(f"{running.base_url}/detail", params=q, headers=headers) as r:
                    assert r.status == 200 and r.content_type == "application/json"
                    out.append(await r.read())

    assert bodies["plain"] != bodies["quirky"]
    plain_rows, quirky_rows = (orjson.loads(bodies[k][0]) for k in ("plain", "quirky"))
    assert [parse_list_row(r) for r in plain_rows] == [parse_list_row(r) for r in quirky_rows]
    for plain, quirky in zip(bodies["plain"][1:], bodies["quirky"][1:], strict=True):
        assert decode(quirky) == decode(plain)
    kinds = {k for k in quirky_sim.faults.injected if k.startswith("quirk:")}
    assert kinds == {f"quirk:{q}" for q in QUIRKS}


def test_a_long_unicode_memo_is_data_the_payload_and_the_truth_agree_on() -> None:
    sim = Simulator(
        SimConfig(orders_per_account=60, faults=FaultConfig(long_text_rate=0.2)), FakeClock(START)
    )
    truth = {r["sales_order_number"]: r["memo"] for r in sim.truth(CUSTOMER)["sales_orders"]}
    long_ones = {n: m for n, m in truth.items() if isinstance(m, str) and len(m) > 1000}
    assert 3 <= len(long_ones) <= 25
    for n, memo in long_ones.items():
        s = sim.find(n)
        assert s is not None
        served = orjson.loads(sim.detail_bytes(s, False))["Memo"]
        assert served == memo
        assert decode(sim.detail_bytes(s, False)).memo == memo
        assert len(memo) < 10_000 and any(ord(c) > 0xFFFF for c in memo)
        assert "\u0301" in memo or "\u200d" in memo  # combining marks and joiners survive
