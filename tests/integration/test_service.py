"""The service in-process: schedule, readiness, metrics and a graceful stop, against the
simulator over real HTTP and the real Postgres."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.config.accounts import Account
from syncer.errors import DatabaseError
from syncer.service.health import ReadinessProbe
from syncer.service.metrics import Metrics
from syncer.service.runtime import open_runtime
from syncer.service.scheduler import Service, serving, utcnow
from syncer.warehouse import database as db
from tests.integration.service_support import (
    assert_orders_match_truth,
    live_simulator,
    loaded_orders,
    service_settings,
)
from tests.truth import assert_matches_truth

A, B = "1000012345", "1000023456"


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def runs(service: Service, account: str, outcome: str) -> float:
    value = service.metrics.registry.get_sample_value(
        "syncer_runs_total", {"account": account, "outcome": outcome}
    )
    return value or 0.0


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(url) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        return resp.status, body


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    raise AssertionError(f"no sample {name}{labels}")


async def app_connections(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        result = await conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'scansource-syncer'"
        )
        return int(result.scalar_one())


async def test_first_runs_serve_ready_and_metrics_and_match_the_truth(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    async with live_simulator(orders_per_account=40) as running:
        settings = service_settings(
            running, database_url, [Account(customer_number=A), Account(customer_number=B)]
        )
        before = await app_connections(clean_engine)
        async with serving(settings) as service:
            status, body = await get(service.health_url + "/readyz")
            assert status == 503
            assert sorted(body["problems"]) == [
                f"account {A}: no run has finished yet",
                f"account {B}: no run has finished yet",
            ]
            service.start()
            await eventually(
                lambda: _true(runs(service, A, "succeeded") + runs(service, B, "succeeded") == 2)
            )
            status, body = await get(service.health_url + "/readyz")
            assert status == 200 and body["ready"] is True
            assert body["accounts"][A]["last_outcome"] == "succeeded"
            status, text = await get(service.health_url + "/metrics")
            assert status == 200
            for account in (A, B):
                assert sample(text, "syncer_orders_total", account=account, outcome="loaded") == 40
                calls = sample(
                    text, "syncer_api_calls_total", account=account, operation="detail",
                    status="200",
                )  # fmt: skip
                assert calls == 40
                last = sample(text, "syncer_last_success_timestamp_seconds", account=account)
                assert 0 <= time.time() - last < 60
                assert sample(text, "syncer_last_run_timestamp_seconds", account=account) == last
                rows = sample(
                    text, "syncer_rows_written_total", account=account, table="sales_orders"
                )  # fmt: skip
                assert rows == 40
                assert sample(text, "syncer_open_failures", account=account) == 0
            status, body = await get(service.health_url + "/healthz")
            assert status == 200
        for account in (A, B):
            await assert_matches_truth(clean_engine, running.sim, account)
        # Whoever opens a resource closes it: the service's pool is gone.
        assert await app_connections(clean_engine) == before


async def _true(value: bool) -> bool:
    return value


async def test_a_slow_account_is_never_run_twice_at_once(
    clean_engine: AsyncEngine, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Each run takes ~1.2 s (120 detail calls of 20 ms, two at a time); the interval is 1 s.
    async with live_simulator(orders_per_account=120, latency_ms=20) as running:
        settings = service_settings(
            running, database_url, [Account(customer_number=A)],
            schedule_interval_seconds=1, api_concurrency=2,
        )  # fmt: skip
        caplog.set_level(logging.WARNING, logger="apscheduler")
        async with serving(settings) as service:
            service.start()
            await eventually(lambda: _true(runs(service, A, "succeeded") >= 2))
        # An overlapping run would have found the account locked and been counted "skipped".
        assert runs(service, A, "skipped") == 0
        assert "maximum number of running instances reached" in caplog.text
        assert runs(service, A, "succeeded") >= 2


async def test_runs_missed_while_the_scheduler_was_held_up_collapse_into_one(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    async with live_simulator(orders_per_account=5) as running:
        settings = service_settings(
            running, database_url, [Account(customer_number=A)], schedule_interval_seconds=2
        )
        async with serving(settings) as service:
            service.start()
            await eventually(lambda: _true(runs(service, A, "succeeded") == 1))
            service._scheduler.pause()  # the process is busy or asleep for 2+ intervals
            await asyncio.sleep(4.5)
            service._scheduler.resume()
            await asyncio.sleep(0.6)  # the next regular time is over a second away
            assert runs(service, A, "succeeded") == 2  # one catch-up run, not two or three


async def test_readyz_names_the_failing_account_and_hides_its_secret(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    wrong = "wrong-secret-9f8e7d"
    async with live_simulator(orders_per_account=10) as running:
        good = Account(customer_number=A)
        bad = Account(customer_number=B, client_id="demo-client", client_secret=SecretStr(wrong))
        settings = service_settings(running, database_url, [good, bad])
        async with serving(settings) as service:
            service.start()
            await eventually(
                lambda: _true(runs(service, A, "succeeded") + runs(service, B, "failed") == 2)
            )
            status, body = await get(service.health_url + "/readyz")
            assert status == 503 and body["ready"] is False
            assert len(body["problems"]) == 1
            assert body["problems"][0].startswith(f"account {B}: last run failed: ")
            assert "refused the client credentials" in body["problems"][0]
            assert body["accounts"][A]["last_outcome"] == "succeeded"
            _, metrics_text = await get(service.health_url + "/metrics")
            assert wrong not in str(body) and wrong not in metrics_text

            # The same database seen later than allowed: A's success has gone stale.
            late = ReadinessProbe(
                service.runtime.engine, [A], stale_after=service.probe.stale_after,
                metrics=Metrics([A]),
                clock=lambda: utcnow() + service.probe.stale_after + timedelta(minutes=1),
            )  # fmt: skip
            result = await late.check()
            assert not result.ready and "stale" in result.problems[0]


async def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    engine = db.create_engine("postgresql://nobody:pw@127.0.0.1:1/none", pool_size=1)
    try:
        probe = ReadinessProbe(
            engine, [A], stale_after=timedelta(hours=1), metrics=Metrics([A]), clock=utcnow
        )
        result = await probe.check()
    finally:
        await engine.dispose()
    assert result.ready is False
    assert result.problems[0].startswith("database unreachable: ")
    assert "pw" not in result.problems[0]


async def test_a_database_behind_on_migrations_is_refused_before_anything_starts(
    admin_url: str,
) -> None:
    import uuid

    from sqlalchemy.engine import make_url

    name = f"syncer_test_empty_{uuid.uuid4().hex[:8]}"
    admin = db.create_engine(admin_url, pool_size=1)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        async with live_simulator(orders_per_account=1) as running:
            settings = service_settings(running, url, [Account(customer_number=A)])
            with pytest.raises(DatabaseError, match=r"revision none.*run `syncer db upgrade`"):
                async with serving(settings):
                    pass
    finally:
        async with admin.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.dispose()


async def test_a_run_that_fits_in_the_grace_period_finishes_and_commits(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    async with live_simulator(orders_per_account=80, latency_ms=20) as running:
        settings = service_settings(
            running, database_url, [Account(customer_number=A)],
            api_concurrency=2, sync_batch_size=10, shutdown_grace_seconds=30,
        )  # fmt: skip
        async with serving(settings) as service:
            service.start()
            await eventually(lambda: _loaded_some(clean_engine, A))
        # Leaving the block is the shutdown: the run was let finish, not cancelled.
        assert runs(service, A, "cancelled") == 0
        assert runs(service, A, "succeeded") == 1
        await assert_matches_truth(clean_engine, running.sim, A)


async def test_a_run_overrunning_the_grace_period_is_cancelled_without_a_half_loaded_order(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    async with live_simulator(orders_per_account=300, latency_ms=20) as running:
        settings = service_settings(
            running, database_url, [Account(customer_number=A)],
            api_concurrency=2, sync_batch_size=10, shutdown_grace_seconds=1,
        )  # fmt: skip
        before = await app_connections(clean_engine)
        async with serving(settings) as service:
            service.start()
            await eventually(lambda: _loaded_some(clean_engine, A))
        assert runs(service, A, "cancelled") == 1
        loaded = await loaded_orders(clean_engine, A)
        assert 0 < len(loaded) < 300
        # Every order that is there is there whole: its children equal the truth, row for row.
        assert await assert_orders_match_truth(clean_engine, running.sim, A, loaded) > len(loaded)
        assert await app_connections(clean_engine) == before
        async with clean_engine.connect() as conn:
            recorded = (await conn.exec_driver_sql(
                "SELECT outcome, finished_at IS NOT NULL, error FROM scansource.sync_runs"
            )).all()  # fmt: skip
            watermark = (await conn.exec_driver_sql(
                "SELECT count(*) FROM scansource.sync_state"
            )).scalar_one()  # fmt: skip
        assert [tuple(r) for r in recorded] == [
            ("cancelled", True, "cancelled before the end of the run (shutdown)")
        ]
        assert watermark == 0  # the window was not finished: the watermark did not move

        # The next run finishes the job.
        async with open_runtime(settings.model_copy(update={"api_concurrency": 16})) as rt:
            result = await rt.account_sync(A).run()
        assert result.outcome == "succeeded"
        assert result.counts.loaded == 300 - len(loaded)
        await assert_matches_truth(clean_engine, running.sim, A)


async def _loaded_some(engine: AsyncEngine, account: str) -> bool:
    return len(await loaded_orders(engine, account)) >= 10


@contextlib.asynccontextmanager
async def login_role(engine: AsyncEngine, database_url: str) -> AsyncIterator[tuple[str, str]]:
    """A role of its own for the service, able to sync: (its name, a URL logging in as it)."""
    from sqlalchemy.engine import make_url

    role = f"syncer_outage_{uuid.uuid4().hex[:8]}"
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        for sql in (
            f"CREATE ROLE {role} LOGIN",
            f"GRANT USAGE ON SCHEMA scansource TO {role}",
            f"GRANT ALL ON ALL TABLES IN SCHEMA scansource TO {role}",
            f"GRANT ALL ON ALL SEQUENCES IN SCHEMA scansource TO {role}",
        ):
            await conn.exec_driver_sql(sql)
    try:
        yield role, make_url(database_url).set(username=role).render_as_string(False)
    finally:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                (role,),
            )
            await conn.exec_driver_sql(f"DROP OWNED BY {role}")
            await conn.exec_driver_sql(f"DROP ROLE {role}")


async def shut_out(engine: AsyncEngine, role: str, *, out: bool) -> None:
    """Refuse `role` new connections and end its open ones (out), or let it log in again."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.exec_driver_sql(f"ALTER ROLE {role} {'NOLOGIN' if out else 'LOGIN'}")
        if out:
            await conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1",
                (role,),
            )


async def test_a_run_the_database_refused_counts_as_failed_for_readyz_and_metrics(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    """The run cannot record itself in sync_runs, which still says the last run succeeded: the
    service remembers it, and the newer of the two wins, both ways."""
    async with (
        live_simulator(orders_per_account=5) as running,
        login_role(clean_engine, database_url) as (role, url),
    ):
        settings = service_settings(running, url, [Account(customer_number=A)])
        async with serving(settings) as service:
            await service.sync_account(A)
            assert (await get(service.health_url + "/readyz"))[0] == 200

            await shut_out(clean_engine, role, out=True)
            await service.sync_account(A)
            status, away = await get(service.health_url + "/readyz")
            await shut_out(clean_engine, role, out=False)
            status_back, back = await get(service.health_url + "/readyz")
            _, metrics = await get(service.health_url + "/metrics")

            await service.sync_account(A)  # the database answers again: a newer success
            status_later, later = await get(service.health_url + "/readyz")

    async with clean_engine.connect() as conn:
        outcomes = (await conn.exec_driver_sql(
            "SELECT outcome FROM scansource.sync_runs ORDER BY id"
        )).scalars().all()  # fmt: skip
    assert outcomes == ["succeeded", "succeeded"]  # the failed run could not record itself
    assert status == 503 and away["problems"][0].startswith("database unreachable: ")
    assert away["accounts"][A]["last_outcome"] == "failed"  # from memory
    assert status_back == 503 and back["ready"] is False
    assert back["problems"] == [
        f"account {A}: last run failed: {back['accounts'][A]['last_error']}"
    ]
    assert "database" in back["accounts"][A]["last_error"]
    assert sample(metrics, "syncer_runs_total", account=A, outcome="failed") == 1
    assert sample(metrics, "syncer_runs_total", account=A, outcome="succeeded") == 1
    assert status_later == 200 and later["accounts"][A]["last_outcome"] == "succeeded"
