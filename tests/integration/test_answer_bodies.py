"""What the API's answers hold: bodies past the size limit, numbers JSON allows but a double
cannot hold, and failed answers kept for diagnosis. Over real HTTP, into a real Postgres."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from syncer.errors import DIAGNOSIS_BYTES
from syncer.sim import FaultConfig
from syncer.warehouse import schema
from tests.integration.conftest import SimHarness
from tests.truth import assert_matches_truth

S = schema.SCHEMA
LIMIT = 100_000  # the size limit in these tests, far below the default


async def failures(h: SimHarness) -> dict[str, tuple[str, str, str | None]]:
    async with h.engine.connect() as conn:
        result = await conn.exec_driver_sql(
            f"SELECT sales_order_number, stage, reason, payload FROM {S}.sync_failures"
        )
        return {r[0]: (r[1], r[2], r[3]) for r in result}


def detail(h: SimHarness, number: str) -> dict[str, Any]:
    state = h.sim.find(number)
    assert state is not None
    return dict(orjson.loads(h.sim.detail_bytes(state, False)))


def oversized(h: SimHarness, number: str) -> bytes:
    """The order's own detail, grown past LIMIT with lines of serial numbers."""
    body = detail(h, number)
    line = body["SalesOrderLines"][0]
    body["SalesOrderLines"] = [
        {**line, "LineNumber": n, "SerialNumbers": [f"S{n:04d}{k:06d}" for k in range(100)]}
        for n in range(1, 201)
    ]
    raw = orjson.dumps(body)
    assert len(raw) > 2 * LIMIT
    return raw


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_past_the_size_limit_fails_its_order_at_once_saying_how_big(
    harness_factory: Any, chunked: bool
) -> None:
    faults = FaultConfig(chunked_rate=1.0, only=frozenset({"detail"})) if chunked else FaultConfig()
    h: SimHarness = await harness_factory(orders_per_account=30, faults=faults)
    h.client = h.make_client(max_response_bytes=LIMIT)
    customer = h.customers[0]
    big = h.sim.order_numbers(customer)[3]
    body = oversized(h, big)
    h.sim.detail_overrides[big] = (200, body)

    result = await h.account_sync(customer).run()

    assert result.outcome == "succeeded" and result.counts.loaded == 29
    assert h.sim.detail_hits[big] == 1  # it will not get smaller: not tried again
    [(stage, reason, payload)] = (await failures(h)).values()
    assert stage == "fetch" and "api_max_response_bytes (100,000)" in reason
    size = f"over {LIMIT:,} bytes" if chunked else f"{len(body):,} bytes"
    assert size in reason
    assert payload is not None and body.decode().startswith(payload)  # its start, for a person
    assert len(payload) <= DIAGNOSIS_BYTES
    if chunked:
        assert h.sim.faults.injected["chunked"] >= 30
    await assert_matches_truth(h.engine, h.sim, customer, exclude={big})


@pytest.mark.parametrize(
    ("number", "said"),
    [
        ("1e400", "number too large (1E+400)"),
        ("-1e400", "number too large (-1E+400)"),
        ("1" + "0" * 400, "not a number: '1000000000"),  # the rules' word for 400 digits
    ],
    ids=["1e400", "-1e400", "400 digits"],
)
async def test_a_number_no_double_holds_is_quarantined_on_the_first_attempt_naming_its_field(
    harness: SimHarness, number: str, said: str
) -> None:
    customer = harness.customers[0]
    odd = harness.sim.order_numbers(customer)[5]
    text = orjson.dumps(detail(harness, odd))
    body = text.replace(b'"Ordered":', b'"Ordered":' + number.encode() + b',"Was":', 1)
    harness.sim.detail_overrides[odd] = (200, body)

    result = await harness.account_sync(customer).run()

    assert result.outcome == "succeeded" and result.counts.failed == 1
    assert harness.sim.detail_hits[odd] == 1  # valid JSON: read at once, not retried
    [(stage, reason, payload)] = (await failures(harness)).values()
    assert stage == "parse" and f"SalesOrderLines.0.Ordered: {said}" in reason
    assert payload == body.decode()
    await assert_matches_truth(harness.engine, harness.sim, customer, exclude={odd})


async def test_a_number_no_double_holds_in_a_field_we_do_not_map_is_loaded(
    harness: SimHarness,
) -> None:
    customer = harness.customers[0]
    odd = harness.sim.order_numbers(customer)[6]
    body = orjson.dumps(detail(harness, odd))[:-1] + b',"Checksum":1e400,"Id":' + b"9" * 400 + b"}"
    harness.sim.detail_overrides[odd] = (200, body)

    result = await harness.account_sync(customer).run()

    assert result.outcome == "succeeded" and result.counts.failed == 0
    assert harness.sim.detail_hits[odd] == 1
    await assert_matches_truth(harness.engine, harness.sim, customer)
    async with harness.engine.connect() as conn:
        kept = (await conn.exec_driver_sql(
            f"SELECT raw->>'Checksum' FROM {S}.sales_orders WHERE sales_order_number = $1", (odd,)
        )).scalar()  # fmt: skip
    assert kept is not None and Decimal(kept) == Decimal("1e400")


@pytest.mark.parametrize(
    ("status", "body", "stage"),
    [
        (200, b"<html><body>gateway error " + b"x" * 200_000 + b"</body></html>", "fetch"),
        (200, b'{"SalesOrderNumber": "cut off', "fetch"),
        (400, b'{"message": "bad request", "echo": "Ocp-Apim-Subscription-Key: KEY"}', "fetch"),
    ],
    ids=["not-json", "cut-off", "4xx"],
)
async def test_a_fetch_failure_keeps_the_body_it_got_redacted_and_cut(
    harness: SimHarness, status: int, body: bytes, stage: str
) -> None:
    customer = harness.customers[0]
    bad = harness.sim.order_numbers(customer)[2]
    key = harness.credentials.subscription_key.get_secret_value()
    body = body.replace(b"KEY", key.encode())
    harness.sim.detail_overrides[bad] = (status, body)

    await harness.account_sync(customer).run()

    [(got_stage, reason, payload)] = (await failures(harness)).values()
    assert got_stage == stage and payload is not None
    assert key not in payload and key not in reason
    kept = body.decode().replace(key, "***")[:DIAGNOSIS_BYTES]
    assert payload == kept


async def test_large_details_are_decoded_and_written_one_at_a_time(harness_factory: Any) -> None:
    h: SimHarness = await harness_factory(orders_per_account=30)
    customer = h.customers[0]
    large = h.sim.order_numbers(customer)[:6]
    for number in large:
        h.sim.detail_overrides[number] = (200, oversized(h, number))

    result = await h.account_sync(customer, large_detail_bytes=LIMIT).run()

    assert result.outcome == "succeeded" and result.counts.loaded == 30
    async with h.engine.connect() as conn:
        written = dict((await conn.exec_driver_sql(
            f"SELECT sales_order_number, xmin::text FROM {S}.sales_orders"
        )).all())  # fmt: skip
    # The transaction that wrote each order: a large one never shares it with another large
    # one (the next is not even decoded before the previous is written); small ones do.
    assert len({written[n] for n in large}) == len(large)
    assert len(set(written.values())) < len(written)
    await assert_matches_truth(h.engine, h.sim, customer, exclude=set(large))


async def test_waiting_for_a_turn_to_decode_does_not_count_against_the_call_deadline(
    harness_factory: Any,
) -> None:
    h: SimHarness = await harness_factory(orders_per_account=20)
    # A writer waits half a second for a fuller batch: each large detail waits at least that
    # long for the one before it to be written, twice this deadline.
    h.client = h.make_client(call_deadline_seconds=0.25)
    customer = h.customers[0]
    large = h.sim.order_numbers(customer)[:3]
    for number in large:
        h.sim.detail_overrides[number] = (200, oversized(h, number))

    result = await h.account_sync(customer, large_detail_bytes=LIMIT, batch_size=200).run()

    assert result.outcome == "succeeded" and result.counts.failed == 0, result.error
    assert result.seconds > 1.0  # the waits did happen
    assert result.counts.loaded == 20
