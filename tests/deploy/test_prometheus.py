"""A real Prometheus scraping a real `syncer run` against the simulator, with the shipped alert
rules (their `for:` and the staleness threshold shortened): the series are there, the failing
and stale alerts fire when the simulator refuses the account and clear when it recovers, the
down alert fires when the service stops, and every dashboard query is valid PromQL.

Marked `prometheus`: deselected by default; `.ci/run` runs `pytest -m prometheus tests/deploy`.
Skipped, saying so, only where there is no prometheus binary (Debian: apt-get install prometheus).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.sim import FaultConfig
from tests.deploy.monitoring import (
    ALERTS,
    JOB,
    PROMETHEUS_CONFIG,
    alert_rules,
    dashboard_exprs,
    instant,
)
from tests.deploy.support import free_port
from tests.integration.service_support import live_simulator, service_env
from tests.integration.test_service_process import image_settings, service_process

pytestmark = pytest.mark.prometheus

A = "1000012345"
STALE_AFTER = 6  # seconds, for the test's copy of SyncerAccountStale (2700 in the shipped rules)


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"PROMETHEUS UNAVAILABLE: no {name} binary (apt-get install -y prometheus)")
    return found


def test_promtool_accepts_the_shipped_rules_and_config() -> None:
    promtool = tool("promtool")
    for args in (["check", "rules", str(ALERTS)], ["check", "config", str(PROMETHEUS_CONFIG)]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def quick_rules() -> dict[str, Any]:
    """The shipped rules with every `for:` at 1 s and the stale threshold at STALE_AFTER."""
    doc = yaml.safe_load(ALERTS.read_text())
    for group in doc["groups"]:
        for rule in group["rules"]:
            rule["for"] = "1s"
            if rule["alert"] == "SyncerAccountStale":
                assert "> 2700" in rule["expr"], rule["expr"]
                rule["expr"] = rule["expr"].replace("> 2700", f"> {STALE_AFTER}")
    return dict(doc)


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = aiohttp.ClientSession()

    async def api(self, path: str, **params: str) -> Any:
        async with self.session.get(self.url + path, params=params) as resp:
            body = await resp.json()
            assert body["status"] == "success", body
            return body["data"]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        data = await self.api("/api/v1/query", query=expr)
        return list(data["result"])

    async def alerts(self, state: str = "firing") -> set[tuple[str, str]]:
        """(alert name, account or instance) of the alerts in `state`."""
        data = await self.api("/api/v1/alerts")
        return {
            (a["labels"]["alertname"], a["labels"].get("account", a["labels"].get("instance")))
            for a in data["alerts"]
            if a["state"] == state
        }


@contextlib.asynccontextmanager
async def prometheus(tmp: Path, target: str) -> AsyncIterator[Prometheus]:
    rules = tmp / "alerts.yml"
    rules.write_text(yaml.safe_dump(quick_rules()))
    config = tmp / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [target]}]}],
    }))  # fmt: skip
    port = free_port()
    log = (tmp / "prometheus.log").open("w")
    proc = await asyncio.create_subprocess_exec(
        tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}", stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Prometheus(f"http://127.0.0.1:{port}")
    try:
        await eventually(lambda: ready(server, proc, tmp), "Prometheus never became ready")
        yield server
    finally:
        await server.session.close()
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        log.close()


async def ready(server: Prometheus, proc: asyncio.subprocess.Process, tmp: Path) -> bool:
    assert proc.returncode is None, (tmp / "prometheus.log").read_text()
    with contextlib.suppress(aiohttp.ClientError):
        async with server.session.get(server.url + "/-/ready") as resp:
            return resp.status == 200
    return False


async def eventually(check: Callable[[], Awaitable[bool]], what: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.25)


async def test_alerts_fire_when_the_api_refuses_the_account_and_clear_when_it_recovers(
    clean_engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    async with live_simulator(orders_per_account=10) as running:
        env = service_env(
            running, database_url, [A],
            **{**image_settings(), "health_port": port, "schedule_interval_seconds": 1,
               "schedule_jitter_seconds": 0, "api_max_attempts": 1},
        )  # fmt: skip
        async with (
            service_process(env, port) as service,
            prometheus(tmp_path, f"127.0.0.1:{port}") as prom,
        ):
            await service.wait_ready()

            async def scraped() -> bool:
                up = await prom.query(f'up{{job="{JOB}"}}')
                return (
                    bool(up)
                    and up[0]["value"][1] == "1"
                    and bool(
                        await prom.query(
                            f'syncer_runs_total{{account="{A}", outcome="succeeded"}} > 0'
                        )
                    )
                )

            await eventually(scraped, "Prometheus never scraped a successful run")
            names = {
                r["metric"]["__name__"]
                for r in await prom.query(f'{{job="{JOB}", __name__=~"syncer_.+"}}')
            }
            assert {
                "syncer_build_info", "syncer_runs_total", "syncer_orders_total",
                "syncer_rows_written_total", "syncer_api_calls_total",
                "syncer_api_request_duration_seconds_bucket",
                "syncer_api_request_duration_seconds_count", "syncer_run_duration_seconds_bucket",
                "syncer_run_in_progress", "syncer_open_failures",
                "syncer_last_success_timestamp_seconds", "syncer_last_run_timestamp_seconds",
                "syncer_api_rate_limit_requests_per_second", "syncer_api_congestion_events_total",
            } <= names  # fmt: skip
            # Every dashboard query is PromQL Prometheus accepts (api() checks the status),
            # and the lag one gives a recent age.
            for expr in dashboard_exprs():
                await prom.query(instant(expr))
            lag_expr = f'time() - syncer_last_success_timestamp_seconds{{account="{A}"}}'
            (lag,) = await prom.query(lag_expr)
            assert 0 <= float(lag["value"][1]) < 60
            assert await prom.alerts("firing") == set()

            # The API refuses every list call: each run fails at once (one attempt).
            running.sim.faults.config = FaultConfig(error_rate=1.0, only=frozenset({"list"}))

            async def failing_and_stale() -> bool:
                firing = await prom.alerts("firing")
                return {("SyncerAccountFailing", A), ("SyncerAccountStale", A)} <= firing

            await eventually(failing_and_stale, "the failing and stale alerts never fired")
            (failed,) = await prom.query(f'syncer_runs_total{{account="{A}", outcome="failed"}}')
            assert float(failed["value"][1]) >= 1

            running.sim.faults.config = FaultConfig()

            async def cleared() -> bool:
                active = await prom.alerts("firing") | await prom.alerts("pending")
                return not {a for a in active if a[1] == A}

            await eventually(cleared, "the account's alerts never cleared")

            # The service stops: Prometheus cannot scrape it any more.
            assert await service.stop(within=10) == 0
            await eventually(
                lambda: _has(prom, ("SyncerDown", f"127.0.0.1:{port}")),
                "SyncerDown never fired",
            )
    rules = {r["alert"] for r in alert_rules()}
    assert {"SyncerDown", "SyncerAccountFailing", "SyncerAccountStale"} <= rules


async def _has(prom: Prometheus, alert: tuple[str, str]) -> bool:
    return alert in await prom.alerts("firing")
