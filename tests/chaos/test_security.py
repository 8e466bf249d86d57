"""Security: SQL-injection strings are stored as data; secrets appear in no log line and no
table; TLS verification is on unless explicitly turned off, which is logged as a warning."""

from __future__ import annotations

import asyncio
import logging
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr

from syncer.api.auth import Credentials
from syncer.api.client import ScanSourceClient
from syncer.api.transport import Transport, make_session
from syncer.config.settings import Settings
from syncer.errors import TransientApiError
from syncer.sim import SimConfig, Simulator
from syncer.warehouse import schema
from tests.chaos import summary
from tests.integration.cli_support import syncer
from tests.integration.conftest import SimHarness
from tests.integration.test_crash import sync_env

S = schema.SCHEMA
INJECTIONS = [
    "'; DROP TABLE scansource.sales_orders; --",
    "Robert'); DELETE FROM scansource.sync_state; --",
    "$$; TRUNCATE scansource.deliveries; $$",
    "\\'; COPY scansource.sales_orders TO PROGRAM 'id'; --",
    "1' OR '1'='1",
]


def text_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in text_paths(v, (*prefix, k))]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in text_paths(v, (*prefix, i))]
    return [prefix] if isinstance(node, str) else []


async def test_sql_injection_in_every_text_field_is_stored_as_data(harness: SimHarness) -> None:
    customer = harness.customers[0]
    number = harness.sim.order_numbers(customer)[1]
    state = harness.sim.find(number)
    assert state is not None
    payload = orjson.loads(harness.sim.detail_bytes(state, False))
    planted: list[str] = []
    for i, path in enumerate(text_paths(payload)):
        if path == ("SalesOrderNumber",):
            continue
        doc = payload
        for step in path[:-1]:
            doc = doc[step]
        value = f"{INJECTIONS[i % len(INJECTIONS)]} #{i}"  # unique, so every field is found
        doc[path[-1]] = value
        planted.append(value)
    harness.sim.detail_overrides[number] = (200, orjson.dumps(payload))

    result = await harness.account_sync(customer).run()

    assert result.outcome == "succeeded" and result.counts.failed == 0
    stored = await all_text(harness)
    missing = [v for v in planted if v not in stored]
    assert not missing, missing[:3]  # every string arrived verbatim, as data
    assert result.counts.loaded == 120
    async with harness.engine.connect() as conn:  # and nothing was dropped or emptied
        for table in ("sales_orders", "deliveries", "sync_state"):
            n = (await conn.exec_driver_sql(f"SELECT count(*) FROM {S}.{table}")).scalar()
            assert n, table
    await summary.compare(harness.engine, harness.sim, customer, exclude={number})


async def all_text(h: SimHarness) -> str:
    """Every row of every table of the schema, as text."""
    parts = []
    async with h.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            result = await conn.exec_driver_sql(f"SELECT t::text FROM {S}.{table.name} t")
            parts.extend(r[0] for r in result)
    return "\n".join(parts)


@pytest.mark.slow
async def test_secrets_appear_in_no_log_line_and_no_table(
    harness: SimHarness, database_url: str
) -> None:
    sub = harness.sim.config.subscriptions[0]
    customer = harness.customers[0]
    # failures of every kind, so that error paths log too
    numbers = harness.sim.order_numbers(customer)
    harness.sim.detail_overrides[numbers[0]] = (500, b'{"Message":"An error has occurred."}')
    harness.sim.detail_overrides[numbers[1]] = (401, b'{"statusCode":401,"message":"no"}')
    harness.sim.detail_overrides[numbers[2]] = (200, b'{"SalesOrderLines": [{"LineNumber": "x"}]}')
    env = {**sync_env(harness, database_url), "SYNCER_LOG_LEVEL": "DEBUG",
           "SYNCER_LOG_FORMAT": "json"}  # fmt: skip
    runs = [
        await syncer(env, "sync", "--once"),
        await syncer({**env, "SYNCER_API_CLIENT_SECRET": sub.client_secret + "-wrong"},
                     "sync", "--once"),
    ]  # fmt: skip
    text = "".join(out + err for _, out, err in runs) + await all_text(harness)

    assert [code for code, _, _ in runs] == [0, 1]
    assert '"level": "debug"' in runs[0][2]  # request logs were on
    for secret in (sub.client_secret, sub.subscription_key):
        assert secret not in text
    assert "eyJ" not in text  # no bearer token (a JWT starts with eyJ) anywhere


def self_signed(tmp: Path) -> ssl.SSLContext:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
async def tls_sim(tmp_path: Path) -> AsyncIterator[tuple[str, Simulator]]:
    sim = Simulator(SimConfig(orders_per_account=3))
    runner = web.AppRunner(sim.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self_signed(tmp_path))
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"https://127.0.0.1:{port}", sim
    finally:
        await runner.cleanup()


async def list_over_tls(base: str, sim: Simulator, verify: bool) -> list[Any]:
    sub = sim.config.subscriptions[0]
    async with make_session(concurrency=2, verify_tls=verify) as session:
        transport = Transport(
            session,
            base_url=f"{base}/scsc/salesorder/v1",
            token_url=f"{base}/t/oauth2/v2.0/token",
            scope="x/.default",
            credentials=Credentials(
                sub.client_id, SecretStr(sub.client_secret), SecretStr(sub.subscription_key)
            ),
            max_attempts=1,
        )
        return await ScanSourceClient(transport).list_page(sub.customer_numbers[0])


async def test_tls_is_verified_by_default_and_turning_it_off_is_explicit_and_logged(
    tls_sim: tuple[str, Simulator], caplog: pytest.LogCaptureFixture
) -> None:
    assert Settings().api_verify_tls is True
    base, sim = tls_sim
    with pytest.raises(TransientApiError, match="Certificate"):
        await list_over_tls(base, sim, verify=True)  # a self-signed certificate is refused

    with caplog.at_level(logging.WARNING):
        rows = await list_over_tls(base, sim, verify=False)

    assert len(rows) == 3
    assert any("TLS certificate verification is OFF" in r.getMessage() for r in caplog.records)
    await asyncio.sleep(0)
