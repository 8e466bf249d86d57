"""The detail's one decoder (syncer.api.payload): a canonical body is read straight into the
structs, any other by each field's rule, and both readings give the same structs, the same rows
(syncer.warehouse.rows) or the same reason; the quirks, bounds, dates and text cut of API
reference §10 hold whichever reading a body takes."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.api import payload
from syncer.api.payload import Detail, OrderListRow, decode, parse_list_row
from syncer.api.values import MAX_TEXT
from syncer.errors import PayloadError
from syncer.sim import FakeClock, FaultConfig, SimConfig, Simulator, Subscription, payloads, quirks
from syncer.sim.faultconfig import QUIRKS
from syncer.warehouse.rows import OrderRows, build_rows
from tests.json_paths import get, paths, put

START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
FETCHED = datetime(2026, 11, 20, 15, 5, tzinfo=UTC)
CUSTOMER = "1000012345"
SUB = Subscription(
    client_id="c", client_secret="s", subscription_key="k", customer_numbers=(CUSTOMER,)
)


def sim_details(orders: int, faults: FaultConfig) -> list[tuple[OrderListRow, bytes]]:
    sim = Simulator(
        SimConfig(subscriptions=(SUB,), orders_per_account=orders, faults=faults), FakeClock(START)
    )
    out = []
    for s in sim.orders_of(CUSTOMER):
        listed = parse_list_row(payloads.list_row(sim.view(s), False))
        for exclude in (False, True):
            body = sim.detail_bytes(s, exclude)
            # The payload quirks of API reference §10, as the simulator's API serves them.
            chosen = quirks.picks(1, s.order_number, faults.quirk_rate, frozenset(QUIRKS))
            if chosen:
                body = quirks.dumps(quirks.apply(orjson.loads(body), chosen),
                                    "ascii_escapes" in chosen)  # fmt: skip
            out.append((listed, body))
    return out


def exact(result: OrderRows | str) -> str:
    """Everything, to the last digit: repr tells Decimal("1.50") from Decimal("1.5")."""
    if isinstance(result, str):
        return result
    return repr((result.customer_number, result.sales_order_number, result.status,
                 result.content_hash, result.header, result.children,
                 result.unreadable_dates))  # fmt: skip


def canonical(raw: bytes) -> Detail | None:
    """The detail as read straight into the structs, or None when `decode` gives it the rules."""
    if b"\\u0000" in raw:
        return None
    try:
        detail = payload._CANONICAL.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None
    return detail if payload._within_bounds(detail) else None


def rows(listed: OrderListRow, raw: bytes) -> OrderRows | str:
    """What the sync makes of a body: its rows, or the reason it is refused."""
    try:
        return build_rows(CUSTOMER, listed, decode(raw), raw, FETCHED)
    except PayloadError as exc:
        return f"PayloadError: {exc}"


def by_the_rules(listed: OrderListRow, raw: bytes) -> OrderRows | str:
    """The same, every field read by its rule (what a body off the canonical form gets)."""
    try:
        return build_rows(CUSTOMER, listed, payload.parse_detail(payload._json(raw)), raw, FETCHED)
    except PayloadError as exc:
        return f"PayloadError: {exc}"


def dumps(value: Any) -> bytes:
    """An edited payload as the API would send it (json: orjson refuses integers past 64 bits,
    which the edits make; NUL and other control characters come out as escapes)."""
    return json.dumps(value).encode()


PLAIN = sim_details(150, FaultConfig())


def test_plain_payloads_are_read_canonically_and_as_the_rules_read_them() -> None:
    for listed, raw in PLAIN:
        detail = canonical(raw)
        assert detail is not None  # a plain payload needs no rule
        assert detail == payload.parse_detail(payload._json(raw))
        assert exact(rows(listed, raw)) == exact(by_the_rules(listed, raw))
    assert len(PLAIN) == 300


def test_quirky_and_long_payloads_take_the_rules_and_read_as_their_plain_selves() -> None:
    faults = FaultConfig(quirk_rate=0.5, long_text_rate=0.2)
    ruled = 0
    plain = sim_details(120, FaultConfig(long_text_rate=0.2))
    for (listed, raw), (_, unquirked) in zip(sim_details(120, faults), plain, strict=True):
        assert exact(rows(listed, raw)) == exact(by_the_rules(listed, raw))
        got, want = rows(listed, raw), rows(listed, unquirked)
        assert not isinstance(got, str) and not isinstance(want, str)
        assert (got.header[:-3], got.children) == (want.header[:-3], want.children)
        ruled += canonical(raw) is None
    assert ruled > 50  # the quirks did send orders to the rules


# Values that are off the canonical form, each for some reason the rules handle.
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "10", "1e3", "abc", "2024-02-30", "2024-01-05", " 2024-01-05",
                     "3/7/2024 2:15 PM", "2024-01-05T10:00:00Z", "a,b,,c", "x\x00y", "NaN",
                     "é" * 3, "z" * (MAX_TEXT + 1)]),
    st.text(max_size=12),
    st.lists(st.one_of(st.none(), st.text(max_size=4), st.integers(-3, 3)), max_size=3),
    st.dictionaries(st.sampled_from(["Name", "LineNumber", "x"]), st.integers(-2, 2), max_size=2),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    order=st.integers(0, len(PLAIN) - 1),
    edits=st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(["set", "drop", "snake", "misspell"]),
                  ODD),
        min_size=1, max_size=3,
    ),
)  # fmt: skip
def test_any_edit_of_a_payload_reads_the_same_either_way(
    order: int, edits: list[tuple[int, str, Any]]
) -> None:
    listed, raw = PLAIN[order]
    value = orjson.loads(raw)
    for pick, how, odd in edits:
        every = paths(value)
        path = every[pick % len(every)]
        parent, last = get(value, path[:-1]), path[-1]
        if how == "set":
            parent[last] = odd
        elif isinstance(parent, dict) and how == "drop":
            del parent[last]
        elif isinstance(parent, dict) and how == "snake":  # the attribute's name, not the API's
            parent[str(last).lower()] = odd
        elif isinstance(parent, dict) and how == "misspell" and "InvoiceNumbers" in parent:
            parent["InvoiceNmbers"] = parent.pop("InvoiceNumbers")
    edited = dumps(value)
    assert exact(rows(listed, edited)) == exact(by_the_rules(listed, edited))


# Every value a field may be set to, in turn: the common ones and their neighbours just off it.
EDGES: list[Any] = [
    None, True, False, 0, -1, 1, -0.5, 0.5, 10.0, 1.25, -(2**31), 2**31 - 1, 2**31,
    10**15 - 1, 10**15, -(10**15), 1e15, 1e-7, 1e-40, 12345678.901234567, "", " ", "10", "-1",
    "abc", "NaN", "Infinity", "2024-01-05", " 2024-01-05", "2024-02-30", "2024-1-5",
    "3/7/2024 2:15 PM", "x\x00y", "z" * MAX_TEXT, "z" * (MAX_TEXT + 1), [], [None], ["a", ""],
    ["a", "a", "b"], ["a", 1], ["x\x00"], "a,b", {}, {"Name": "n"}, [{}], [1], [[]],
]  # fmt: skip


def _richest() -> tuple[OrderListRow, bytes]:
    return max(PLAIN, key=lambda p: len(paths(orjson.loads(p[1]))))


def _fields() -> list[tuple[Any, ...]]:
    """One path to each field of each kind of object in the payload (its first occurrence)."""
    seen: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for path in paths(orjson.loads(_richest()[1])):
        kind = tuple(p for p in path if isinstance(p, str))
        seen.setdefault(kind, path)
    return list(seen.values())


def test_every_field_set_to_every_edge_value_reads_the_same_either_way() -> None:
    listed, raw = _richest()
    fields = _fields()
    assert len(fields) > 60  # every kind of object is there: lines, schedules, parcels, units
    for path in fields:
        for value in EDGES:
            edited = orjson.loads(raw)
            put(edited, path, value)
            body = dumps(edited)
            assert exact(rows(listed, body)) == exact(by_the_rules(listed, body)), (path, value)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "detail is a NoneType, not an object"),
        ([], "detail is a list, not an object"),
        ("x", "detail is a str, not an object"),
        (3, "detail is a int, not an object"),
        ({"SalesOrderLines": [1]}, "SalesOrderLines.0: expected an object, got int"),
        ({"Deliveries": [{"Parcels": ["p"]}]},
         "Deliveries.0.Parcels.0: expected an object, got str"),
        ({"BillingAddress": "here"}, "BillingAddress: expected an object, got str"),
        ({"Deliveries": {}}, "Deliveries: expected an array, got dict"),
    ],
)  # fmt: skip
def test_what_is_not_the_right_shape_is_refused_naming_where(value: Any, reason: str) -> None:
    with pytest.raises(PayloadError) as exc:
        decode(dumps(value))
    assert str(exc.value) == reason


def test_a_structural_problem_is_named_by_its_path() -> None:
    listed, raw = PLAIN[0]
    value = orjson.loads(raw)
    value["SalesOrderLines"].append(dict(value["SalesOrderLines"][0]))
    n = len(value["SalesOrderLines"]) - 1
    assert rows(listed, dumps(value)) == (
        f"PayloadError: SalesOrderLines.{n}: duplicate LineNumber "
        f"{value['SalesOrderLines'][0]['LineNumber']}"
    )
    value = orjson.loads(raw)
    delivery = next(d for d in value["Deliveries"] if d["LineItems"])
    delivery["LineItems"][0]["QuantityShipped"] = -3
    at = value["Deliveries"].index(delivery)
    assert rows(listed, dumps(value)) == (
        f"PayloadError: Deliveries.{at}.LineItems.0: QuantityShipped is negative (-3)"
    )


def test_numbers_are_read_from_their_text_exactly_and_bounded() -> None:
    d = decode(
        b'{"Total": 12.50, "TaxAmount": "0.10", "FreightAmount": 10, "InsuranceAmount": 2.0}'
    )
    assert [str(v) for v in (d.total, d.tax_amount, d.freight_amount, d.insurance_amount)] == [
        "12.50", "0.10", "10", "2.0"
    ]  # fmt: skip
    # Past a double's digits: kept, every one of them.
    assert decode(b'{"Total": 0.12345678901234567890123}').total == Decimal(
        "0.12345678901234567890123"
    )
    assert decode(b'{"Total": 1e-40}').total == Decimal(0)  # rounded to 30 places
    for body, reason in [
        (b'{"Total": 1e400}', "Total: number too large (1E+400)"),
        (b'{"Total": 1000000000000000}', "Total: number too large (1000000000000000)"),
        (b'{"Total": "NaN"}', "Total: expected a finite number"),
        (b'{"Total": "-Infinity"}', "Total: expected a finite number"),
        (b'{"Total": true}', "Total: expected a number, got a boolean"),
        (b'{"Total": ' + b"1" * 400 + b"}", "Total: not a number: '1111111111"),
        (b'{"SalesOrderLines": [{"LineNumber": 2147483648}]}',
         "SalesOrderLines.0.LineNumber: number out of range for a line number"),
    ]:  # fmt: skip
        with pytest.raises(PayloadError) as exc:
            decode(body)
        assert str(exc.value).startswith(reason), body


def test_text_is_cleaned_of_nul_and_read_from_numbers() -> None:
    d = decode(b'{"Memo": "a\\u0000b", "PONumber": 12, "EndUserPO": 1.5}')
    assert (d.memo, d.po_number, d.end_user_po) == ("ab", "12", "1.5")
    with pytest.raises(PayloadError, match=r"^Memo: expected text, got a boolean$"):
        decode(b'{"Memo": false}')


def test_invoice_numbers_under_the_misspelt_key_or_as_one_string_are_read() -> None:
    d = decode(
        b'{"InvoiceNmbers": "9001, 9002", "SalesOrderLines": [{"LineNumber": 1,'
        b' "InvoiceNmbers": ["7"], "SerialNumbers": null, "TrackingNumbers": "T1"}]}'
    )
    assert d.invoice_numbers == ["9001", "9002"]
    assert d.invoice_nmbers is msgspec.UNSET and d.lines[0].invoice_nmbers is msgspec.UNSET
    assert (d.lines[0].invoice_numbers, d.lines[0].serial_numbers) == (["7"], [])
    assert d.lines[0].tracking_numbers == ["T1"]
    # The right key wins where both are there.
    assert decode(b'{"InvoiceNumbers": ["1"], "InvoiceNmbers": ["2"]}').invoice_numbers == ["1"]


def test_dates_in_other_forms_are_read_and_unreadable_ones_are_listed() -> None:
    d = decode(
        b'{"LastShipDate": "3/7/2024 2:15 PM", "SalesOrderLines": [{"LineNumber": 1,'
        b' "ScheduleLines": [{"EstimatedShipDate": "soon"}, {"EstimatedShipDate": ""}]}],'
        b' "Deliveries": [{"DeliveryDocumentNumber": "8", "ShippedDate": "2024-02-30"}]}'
    )
    assert d.last_ship_date == date(2024, 3, 7)
    assert [s.estimated_ship_date for s in d.lines[0].schedule_lines] == [None, None]
    assert d.unreadable_dates == (("estimated_ship_date", "soon"), ("shipped_date", "2024-02-30"))
    assert decode(b'{"LastShipDate": "2024-03-07"}').unreadable_dates == ()
    with pytest.raises(PayloadError, match=r"^LastShipDate: expected a date string, got int$"):
        decode(b'{"LastShipDate": 20240307}')


def test_a_key_longer_than_the_limit_is_refused_and_other_text_is_cut() -> None:
    with pytest.raises(PayloadError, match="SalesOrderNumber: text longer than 10000"):
        decode(dumps({"SalesOrderNumber": "x" * (MAX_TEXT + 1)}))
    memo = decode(dumps({"Memo": "y" * (MAX_TEXT + 5)})).memo
    assert memo is not None and len(memo) <= MAX_TEXT and memo.endswith("characters]")


def test_bodies_msgspec_cannot_read_are_read_the_other_way() -> None:
    listed, raw = PLAIN[0]
    # Nested deeper than msgspec recurses, in a field nobody reads: orjson reads it.
    deep = raw[:-1] + b', "Note": ' + b"[" * 1010 + b"]" * 1010 + b"}"
    got, want = rows(listed, deep), rows(listed, raw)
    assert not isinstance(got, str) and not isinstance(want, str)
    assert (got.header[:-3], got.children) == (want.header[:-3], want.children)  # but raw
    assert decode(deep) == decode(raw)
    # A number past a double's range in a skipped field is no concern of ours; a negative
    # quantity beside it is refused with its reason, as without the number.
    value = orjson.loads(raw)
    value["SalesOrderLines"][0]["Ordered"] = -1
    body = dumps(value)[:-1] + b', "Note": 1e400}'
    assert canonical(body) is not None
    got = rows(listed, body)
    assert got == rows(listed, dumps(value)) and "Ordered is negative" in str(got)


def test_list_rows_are_read_by_the_rules() -> None:
    row = parse_list_row({"OrderNumber": 7, "SalesOrderLines": [{}, {}], "Status": None})
    assert (row.order_number, row.line_count, row.status) == ("7", 2, None)
    with pytest.raises(PayloadError, match="list row has no OrderNumber"):
        parse_list_row({"Status": "Open"})
    with pytest.raises(PayloadError, match="list row is a list, not an object"):
        parse_list_row([])
