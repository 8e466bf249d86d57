"""The plain pass (msgspec structs, then rows) gives exactly the rows (or the error) of the long
way, orjson then models then rows; and it is the way plain payloads take."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.api.models import MAX_TEXT, OrderListRow, parse_detail, parse_list_row
from syncer.errors import PayloadError
from syncer.sim import FakeClock, FaultConfig, SimConfig, Simulator, Subscription, payloads, quirks
from syncer.sim.faultconfig import QUIRKS
from syncer.warehouse import detail_rows as one_pass
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
                 result.content_hash, result.header, result.children))  # fmt: skip


def long_way(listed: OrderListRow, raw: bytes) -> OrderRows | str:
    try:
        return build_rows(CUSTOMER, listed, parse_detail(orjson.loads(raw)), raw, FETCHED)
    except PayloadError as exc:
        return f"PayloadError: {exc}"


def short_way(listed: OrderListRow, raw: bytes) -> OrderRows | str:
    try:
        return one_pass.detail_rows(CUSTOMER, listed, one_pass.decode(raw), raw, FETCHED)
    except PayloadError as exc:
        return f"PayloadError: {exc}"


def dumps(payload: Any) -> bytes:
    """An edited payload as the API would send it (json: orjson refuses integers past 64 bits,
    which the edits make; NUL and other control characters come out as escapes)."""
    return json.dumps(payload).encode()


PLAIN = sim_details(150, FaultConfig())


def test_plain_payloads_take_the_one_pass_and_give_the_long_ways_rows() -> None:
    for listed, raw in PLAIN:
        plain = one_pass.decode(raw)
        assert isinstance(plain, one_pass.PlainDetail)
        # _plain itself, not detail_rows: a plain payload must not need the long way.
        got = one_pass._plain(CUSTOMER, listed, plain, raw, FETCHED)
        assert exact(got) == exact(long_way(listed, raw))
    assert len(PLAIN) == 300


def test_quirky_and_long_payloads_give_the_long_ways_rows() -> None:
    faults = FaultConfig(quirk_rate=0.5, long_text_rate=0.2)
    unusual = 0
    for listed, raw in sim_details(120, faults):
        assert exact(short_way(listed, raw)) == exact(long_way(listed, raw))
        plain = one_pass.decode(raw)
        try:
            if not isinstance(plain, one_pass.PlainDetail):
                raise one_pass._Unusual
            one_pass._plain(CUSTOMER, listed, plain, raw, FETCHED)
        except one_pass._Unusual:
            unusual += 1
    assert unusual > 50  # the quirks did send orders the long way


# Values that are off the common path, each for some reason the models handle.
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " ", "10", "1e3", "abc", "2024-02-30", "2024-01-05", " 2024-01-05",
                     "3/7/2024 2:15 PM", "2024-01-05T10:00:00Z", "a,b,,c", "x\x00y",
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
def test_any_edit_of_a_payload_gives_the_long_ways_rows_or_error(
    order: int, edits: list[tuple[int, str, Any]]
) -> None:
    listed, raw = PLAIN[order]
    payload = orjson.loads(raw)
    for pick, how, value in edits:
        every = paths(payload)
        path = every[pick % len(every)]
        parent, last = get(payload, path[:-1]), path[-1]
        if how == "set":
            parent[last] = value
        elif isinstance(parent, dict) and how == "drop":
            del parent[last]
        elif isinstance(parent, dict) and how == "snake":  # the model's name, not the API's
            parent[str(last).lower()] = value
        elif isinstance(parent, dict) and how == "misspell" and "InvoiceNumbers" in parent:
            parent["InvoiceNmbers"] = parent.pop("InvoiceNumbers")
    edited = dumps(payload)
    assert exact(short_way(listed, edited)) == exact(long_way(listed, edited))


# Every value a field may be set to, in turn: the common ones and their neighbours just off it.
EDGES: list[Any] = [
    None, True, False, 0, -1, 1, -0.5, 0.5, 10.0, 1.25, -(2**31), 2**31 - 1, 2**31,
    10**15 - 1, 10**15, -(10**15), 1e15, 1e-7, 1e-40, 12345678.901234567, "", " ", "10", "-1",
    "abc", "2024-01-05", " 2024-01-05", "2024-02-30", "2024-1-5", "3/7/2024 2:15 PM", "x\x00y",
    "z" * MAX_TEXT, "z" * (MAX_TEXT + 1), [], [None], ["a", ""], ["a", "a", "b"], ["a", 1],
    ["x\x00"], "a,b", {}, {"Name": "n"}, [{}], [1], [[]],
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


def test_every_field_set_to_every_edge_value_gives_the_long_ways_rows_or_error() -> None:
    listed, raw = _richest()
    fields = _fields()
    assert len(fields) > 60  # every kind of object is there: lines, schedules, parcels, units
    for path in fields:
        for value in EDGES:
            payload = orjson.loads(raw)
            put(payload, path, value)
            edited = dumps(payload)
            short, long = short_way(listed, edited), long_way(listed, edited)
            assert exact(short) == exact(long), (path, value)


@pytest.mark.parametrize("payload", [None, [], "x", 3, {"SalesOrderLines": [1]},
                                     {"Deliveries": [{"Parcels": ["p"]}]}])  # fmt: skip
def test_what_is_not_an_object_takes_the_long_way_to_its_error(payload: Any) -> None:
    listed, _ = PLAIN[0]
    got = short_way(listed, dumps(payload))
    assert isinstance(got, str) and got == long_way(listed, dumps(payload))


def test_a_structural_problem_gets_the_long_ways_words() -> None:
    listed, raw = PLAIN[0]
    payload = orjson.loads(raw)
    payload["SalesOrderLines"].append(dict(payload["SalesOrderLines"][0]))
    assert short_way(listed, dumps(payload)) == (
        f"PayloadError: SalesOrderLines.{len(payload['SalesOrderLines'])}: duplicate LineNumber "
        f"{payload['SalesOrderLines'][0]['LineNumber']}"
    )


def test_decode_reads_plain_bodies_into_structs_and_leaves_the_rest_to_orjson() -> None:
    _, raw = PLAIN[0]
    assert isinstance(one_pass.decode(raw), one_pass.PlainDetail)
    # Text holding NUL, and a field of the wrong type: plain JSON, for the long way.
    assert one_pass.decode(b'{"Memo": "a\\u0000b"}') == {"Memo": "a\x00b"}
    assert one_pass.decode(b'{"Total": "12.50"}') == {"Total": "12.50"}
    # Not JSON at all: orjson's error, which the transport makes a transient (retried) one.
    with pytest.raises(orjson.JSONDecodeError):
        one_pass.decode(raw[:-10])


def test_a_large_body_is_checked_for_utf8_a_slice_at_a_time() -> None:
    text = ("é" * one_pass.UTF8_SLICE).encode()  # two slices and more, every character 2 bytes
    assert one_pass._utf8(text)  # a character split between two slices is whole
    assert not one_pass._utf8(text[:-1])  # cut in the middle of the last character
    broken = text[: one_pass.UTF8_SLICE + 3] + b"\xff" + text[one_pass.UTF8_SLICE + 4 :]
    assert not one_pass._utf8(broken)  # a bad byte past the first slice


def test_bodies_orjson_cannot_read_are_never_taken_as_plain() -> None:
    listed, raw = PLAIN[0]
    # Not UTF-8, in a field read and in a field skipped (msgspec checks only the first).
    for body in (raw.replace(b"{", b'{"Memo": "caf\xe9", ', 1), raw[:-1] + b', "Note": "caf\xe9"}'):
        with pytest.raises(orjson.JSONDecodeError):
            one_pass.decode(body)
    # Nested deeper than msgspec recurses, in a field nobody reads: orjson reads it, the long way.
    deep = raw[:-1] + b', "Note": ' + b"[" * 1010 + b"]" * 1010 + b"}"
    assert exact(short_way(listed, deep)) == exact(long_way(listed, deep))
    # A number past a double's range in a skipped field: msgspec reads the body, orjson cannot
    # (syncer.api.jsonread reads it then). An order that must then go the long way (a negative
    # quantity) gets the models' reason, recorded as the order's failure, as without the number.
    payload = orjson.loads(raw)
    payload["SalesOrderLines"][0]["Ordered"] = -1
    body = dumps(payload)[:-1] + b', "Note": 1e400}'
    assert isinstance(one_pass.decode(body), one_pass.PlainDetail)
    got = short_way(listed, body)
    assert got == short_way(listed, dumps(payload)) and "negative" in str(got)
