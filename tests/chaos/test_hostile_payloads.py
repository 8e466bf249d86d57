"""Hostile detail payloads (property-based): the run never crashes; a bad order lands in
sync_failures with a readable reason and its payload; a good order loads exactly; the other
orders always load."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncer.api.payload import decode, parse_list_row
from syncer.errors import PayloadError
from syncer.sim import FakeClock, SimConfig, Simulator
from syncer.warehouse import schema
from syncer.warehouse.rows import CHILD_COLUMNS, build_rows
from tests.chaos import summary
from tests.integration.conftest import START, SimHarness
from tests.json_paths import get, paths, put

S = schema.SCHEMA
ORDERS = 6
EXAMPLES = 300 if summary.long_run() else 40


def base_payloads() -> list[dict[str, Any]]:
    """The details of the test simulator's orders (same seed and clock as the harness's)."""
    sim = Simulator(SimConfig(orders_per_account=ORDERS), clock=FakeClock(START))
    customer = sim.config.subscriptions[0].customer_numbers[0]
    return [
        orjson.loads(sim.detail_bytes(sim.find(n), False))  # type: ignore[arg-type]
        for n in sim.order_numbers(customer)
    ]


BASES = base_payloads()
INJECTION = ["'; DROP TABLE scansource.sales_orders; --", "\" OR 1=1 --", "$1); DELETE FROM x;--",
             "\\x00\\' ; COPY x TO PROGRAM 'id'"]  # fmt: skip

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.sampled_from(INJECTION),
)  # fmt: skip
json_value = st.recursive(
    json_leaf,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)
weird_text = st.one_of(
    st.text(min_size=1, max_size=200),  # any unicode, including lone surrogates
    st.text(st.characters(categories=["Mn", "Cf", "Zs", "So", "Co"]), min_size=1, max_size=50),
    st.integers(1_000, 120_000).map(lambda n: "x" * n),  # huge strings
    st.sampled_from(INJECTION),
)


def nulls_everywhere(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: nulls_everywhere(v) for k, v in node.items()}
    if isinstance(node, list):
        return None
    return None


@st.composite
def hostile(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    base = copy.deepcopy(draw(st.sampled_from(BASES)))
    number = base["SalesOrderNumber"]  # the order served (whatever the payload then says)
    kind = draw(st.sampled_from([
        "wrong_type", "nulls_everywhere", "weird_text", "duplicate_line", "negative_quantity",
        "ten_thousand_lines", "injection_everywhere",
    ]))  # fmt: skip
    if kind == "wrong_type":
        for _ in range(draw(st.integers(1, 4))):
            path = draw(st.sampled_from(paths(base)))
            put(base, path, draw(json_value))
    elif kind == "nulls_everywhere":
        base = nulls_everywhere(base)
    elif kind == "weird_text":
        text_paths = [p for p in paths(base) if isinstance(get(base, p), str)]
        for path in draw(st.lists(st.sampled_from(text_paths), min_size=1, max_size=5)):
            if path != ("SalesOrderNumber",):
                put(base, path, draw(weird_text))
    elif kind == "duplicate_line" and base["SalesOrderLines"]:
        base["SalesOrderLines"].append(copy.deepcopy(base["SalesOrderLines"][0]))
    elif kind == "negative_quantity" and base["SalesOrderLines"]:
        field = draw(st.sampled_from(["Ordered", "Shipped", "BackOrdered", "Canceled"]))
        base["SalesOrderLines"][-1][field] = -draw(st.integers(1, 10**6))
    elif kind == "ten_thousand_lines" and base["SalesOrderLines"]:
        line = base["SalesOrderLines"][0]
        base["SalesOrderLines"] = [{**line, "LineNumber": 10 * (i + 1)} for i in range(10_000)]
        base["Deliveries"] = []
    elif kind == "injection_everywhere":
        for path in paths(base):
            if isinstance(get(base, path), str) and path != ("SalesOrderNumber",):
                put(base, path, draw(st.sampled_from(INJECTION)))
    return kind, number, base


def encode(payload: dict[str, Any]) -> bytes:
    # json (not orjson) so that lone surrogates are sent as \ud800 escapes, as a server might
    return json.dumps(payload, allow_nan=True).encode()


def is_json(body: bytes) -> bool:
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return True


def expected_children(
    customer: str, number: str, body: bytes
) -> dict[str, set[tuple[Any, ...]]] | None:
    """What a valid payload must load as, or None when it must be refused."""
    listed = parse_list_row({"OrderNumber": number})
    try:
        orjson.loads(body)  # what is not JSON is refused before it is read (the transport)
        rows = build_rows(customer, listed, decode(body), body, datetime.now(UTC))
    except (PayloadError, orjson.JSONDecodeError):
        return None
    return {t: set(r) for t, r in rows.children.items()}


async def stored_children(h: SimHarness, number: str) -> dict[str, set[tuple[Any, ...]]]:
    out = {}
    async with h.engine.connect() as conn:
        for table in schema.CHILD_TABLES:
            result = await conn.exec_driver_sql(
                f"SELECT {', '.join(CHILD_COLUMNS[table.name])} FROM {S}.{table.name} "
                "WHERE sales_order_number = $1",
                (number,),
            )
            out[table.name] = {tuple(r) for r in result}
    return out


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    derandomize=not summary.long_run(),
    report_multiple_bugs=False,
)
@given(case=hostile())
async def test_a_hostile_detail_never_crashes_the_run_and_is_recorded_or_loaded_exactly(
    harness_factory: Any, case: tuple[str, str, dict[str, Any]]
) -> None:
    kind, number, payload = case
    h = await _harness(harness_factory)
    customer = h.customers[0]
    body = encode(payload)
    h.sim.detail_overrides.clear()
    h.sim.detail_overrides[number] = (200, body)
    h.clock.advance(60)

    # a forced backfill over all time: every order is listed and fetched, every example
    everything = (START.date() - timedelta(days=3650), START.date())
    result = await h.account_sync(customer).run(window=everything, kind="backfill", force=True)

    summary.add("payloads")
    assert result.outcome == "succeeded", result.error
    async with h.engine.connect() as conn:
        failure = (await conn.exec_driver_sql(
            f"SELECT stage, reason, payload FROM {S}.sync_failures WHERE sales_order_number = $1",
            (number,),
        )).first()  # fmt: skip
    want = expected_children(customer, number, body)
    if want is None or failure is not None:
        summary.add("payloads_failed")
        assert failure is not None, f"{kind}: a payload the parser refuses was not recorded"
        stage, reason, stored = failure
        assert 0 < len(reason) <= 1000 and "Traceback" not in reason
        if stage == "fetch":  # not JSON at all (NaN, Infinity): a broken body, retried first
            assert "not valid JSON" in reason and not is_json(body)
        else:
            assert stage in ("parse", "load")
            assert stored  # the payload is kept for a person to look at
    else:
        summary.add("payloads_loaded")
        got = await stored_children(h, number)
        assert got == want, (kind, result, {k: len(v) for k, v in got.items()})
    await summary.compare(h.engine, h.sim, customer, exclude={number})  # the others all load


_HARNESS: dict[int, SimHarness] = {}


async def _harness(factory: Any) -> SimHarness:
    """One simulator for all examples of a test call (hypothesis calls the test many times)."""
    key = id(factory)
    if key not in _HARNESS:
        _HARNESS.clear()
        _HARNESS[key] = await factory(orders_per_account=ORDERS)
    return _HARNESS[key]
