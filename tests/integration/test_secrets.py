"""Secrets (client secrets, subscription keys, bearer tokens) never reach a log line, an error
message or a table, even with DEBUG logging and every kind of error along the way."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import orjson
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.config.accounts import Account
from syncer.config.simulator import simulator_settings
from syncer.logs import route_through_stdlib, setup_logging
from syncer.redact import Redactor
from syncer.service.runner import summary as result_summary
from syncer.service.runtime import open_runtime
from syncer.sim import FakeClock, FaultConfig, SimConfig, Simulator, Subscription, run_simulator
from syncer.warehouse import schema
from tests.truth import assert_matches_truth

S = schema.SCHEMA
START = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
# Secrets long and distinctive enough that finding one is never a coincidence.
SUB = Subscription(
    client_id="leak-test-client",
    client_secret="cs-7f3a9e21-very-secret-value",
    subscription_key="sk-0d4c8b7a6e5f4d3c2b1a0f9e8d7c6b5a",
    customer_numbers=("1000012345", "1000023456"),
)
WRONG_SECRET = "cs-wrong-but-still-secret-4411"
UNAUTHORISED_CUSTOMER = "1000099999"  # not tied to the subscription: 403 from the API


@contextmanager
def capture_everything(redactor: Redactor) -> Iterator[io.StringIO]:
    """Every logger at DEBUG into one buffer, through the CLI's log handler and its Redactor."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (
        root.handlers[:],
        root.level,
        {n: logging.getLogger(n).level for n in ("syncer", "aiohttp", "asyncio")},
    )
    setup_logging(level="DEBUG", fmt="json", stream=stream, redactor=redactor)
    root.setLevel(logging.DEBUG)
    for name in saved[2]:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
        route_through_stdlib()  # as the syncer leaves it


async def table_text(engine: AsyncEngine) -> str:
    """Every row of every table of the warehouse's schema as text: each column, whatever its
    type (text, jsonb, arrays)."""
    async with engine.connect() as conn:
        tables = (await conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", (S,)
        )).scalars().all()  # fmt: skip
        assert {"sales_orders", "sync_runs", "sync_failures"} <= set(tables)
        rows = []
        for table in tables:
            result = await conn.exec_driver_sql(f"SELECT t::text FROM {S}.{table} t")
            rows += [r[0] for r in result]
    return "\n".join(rows)


async def test_no_secret_or_token_appears_in_logs_errors_or_tables(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    faults = FaultConfig(
        error_rate=0.5, only=frozenset({"detail"}), token_expiry_rate=0.05, quirk_rate=0.3
    )
    sim = Simulator(
        SimConfig(subscriptions=(SUB,), orders_per_account=30, faults=faults), FakeClock(START)
    )
    redactor = Redactor()
    async with run_simulator(sim) as running:
        settings = simulator_settings(
            running,
            SUB,
            database_url=database_url,
            api_rate_limit_per_second=2000.0,
            api_max_attempts=2,  # so that some details fail for good: 5xx into sync_failures
            api_backoff_base_seconds=0.01,
            accounts=[
                Account(customer_number=SUB.customer_numbers[0]),  # 5xx, 401s, quirks
                Account(customer_number=UNAUTHORISED_CUSTOMER),  # 403 on the list
                Account(  # the token endpoint refuses this one's secret: 401
                    customer_number=SUB.customer_numbers[1],
                    client_secret=SecretStr(WRONG_SECRET),
                ),
            ],
        )
        with capture_everything(redactor) as logs:
            async with open_runtime(settings, redactor=redactor) as rt:
                logging.getLogger("syncer.test").debug(
                    "a careless line: secret=%s key %s", SUB.client_secret, SUB.subscription_key
                )
                outcomes = await asyncio.gather(
                    *(rt.account_sync(a.customer_number).run() for a in settings.accounts),
                    return_exceptions=True,
                )
    text = logs.getvalue()
    tables = await table_text(clean_engine)
    summaries = [
        orjson.dumps(result_summary(o)).decode() if not isinstance(o, BaseException) else str(o)
        for o in outcomes
    ]

    # What we search for: the configured secrets and every token the simulator minted.
    tokens = list(sim.tokens.issued)
    secrets = [SUB.client_secret, SUB.subscription_key, WRONG_SECRET, *tokens]
    assert len(tokens) >= 2  # tokens died early and were replaced along the way
    # The run met the errors it was meant to meet, and they were logged and recorded.
    errors = [str(o) if isinstance(o, BaseException) else str(o.error) for o in outcomes]
    assert any("HTTP 403" in e for e in errors)
    assert any("refused the client credentials (401" in e for e in errors)
    assert sim.faults.injected["error"] > 0 and sim.faults.injected["token_expiry"] > 0
    assert '"path": "/detail?customerNumber=' in text  # the request log is on
    assert '"event": "order failed"' in text and '"reason": "detail: HTTP 50' in text
    assert "detail: HTTP 50" in tables and "HTTP 403" in tables
    assert "a careless line: secret=*** key ***" in text  # the filter is really there

    for secret in secrets:
        assert secret not in text, "a secret reached the logs"
        assert secret not in tables, "a secret reached sync_runs / sync_failures"
        for summary in summaries:
            assert secret not in summary, "a secret reached an error or a run summary"


async def test_an_api_echoing_our_credentials_leaves_them_in_no_table(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    """A gateway echoes the request's subscription key and bearer token: in a 400's body, in a
    detail that still parses and in one that cannot. The orders are quarantined with the body
    masked, the listing's failure is recorded masked, and once the API behaves, nothing is lost."""
    echoes = FaultConfig(
        echo_error_rate=0.15, echo_detail_rate=0.15, echo_broken_rate=0.15,
        only=frozenset({"detail"}),
    )  # fmt: skip
    sim = Simulator(
        SimConfig(subscriptions=(SUB,), orders_per_account=40, faults=echoes), FakeClock(START)
    )
    customer = SUB.customer_numbers[0]
    async with run_simulator(sim) as running:
        settings = simulator_settings(
            running, SUB, database_url=database_url, accounts=[Account(customer_number=customer)]
        )
        async with open_runtime(settings, redactor=Redactor()) as rt:
            first = await rt.account_sync(customer).run()
            kinds = ("echo_error", "echo_detail", "echo_broken")
            injected = {k: sim.faults.injected[k] for k in kinds}
            sim.faults.config = FaultConfig(echo_error_rate=1.0, only=frozenset({"list"}))
            listing = await rt.account_sync(customer).run()
            tables = await table_text(clean_engine)
            async with clean_engine.connect() as conn:
                failures = (await conn.exec_driver_sql(
                    f"SELECT stage, reason, payload FROM {S}.sync_failures"
                )).all()  # fmt: skip
            sim.faults.config = FaultConfig()
            last = await rt.account_sync(customer).run()

    assert all(n > 0 for n in injected.values()), injected
    assert first.outcome == "succeeded" and first.counts.failed == sum(injected.values())
    assert listing.outcome == "failed" and "HTTP 400" in str(listing.error)
    assert len(failures) == sum(injected.values())
    quarantined = [f for f in failures if "credential" in f.reason]
    assert len(quarantined) >= injected["echo_detail"]  # what parses is held back too
    assert all("***" in f.payload for f in quarantined)  # kept for diagnosis, masked
    secrets = [SUB.client_secret, SUB.subscription_key, *sim.tokens.issued]
    for secret in secrets:
        assert secret not in tables, "a secret reached a table"
    assert last.outcome == "succeeded" and last.counts.failed == 0
    await assert_matches_truth(clean_engine, sim, customer)
