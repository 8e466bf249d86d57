"""`syncer run` as the container runs it: the image's command line as a subprocess, configured
through the environment, against the simulator over real HTTP and the real Postgres; then
SIGTERM, as `docker stop` sends it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.container import dockerfile_stages
from tests.integration.service_support import (
    assert_orders_match_truth,
    live_simulator,
    loaded_orders,
    service_env,
)
from tests.truth import assert_matches_truth

A, B = "1000012345", "1000023456"
BIN = Path(sys.executable).parent
EXIT_SLACK = 2.0  # seconds for the interpreter to exit once the service has stopped


def image_command() -> list[str]:
    """The final stage's CMD, resolved to this virtualenv's console script."""
    cmd = dockerfile_stages()[-1].exec_form("CMD")
    return [str(BIN / cmd[0]), *cmd[1:]]


def image_settings() -> dict[str, str]:
    """The SYNCER_* settings the image bakes in, as setting names."""
    env = dockerfile_stages()[-1].env()
    return {k.removeprefix("SYNCER_").lower(): v for k, v in env.items() if k.startswith("SYNCER_")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """A `syncer run` subprocess whose stderr is read as it comes (so it never blocks)."""

    def __init__(self, proc: asyncio.subprocess.Process, port: int) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode().rstrip("\n"))

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as s, s.get(self.url + path) as resp:
            return resp.status, await resp.text()

    async def wait_ready(self, within: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.proc.returncode is None, "exited early:\n" + "\n".join(self.lines)
            with contextlib.suppress(aiohttp.ClientConnectionError):
                status, body = await self.get("/readyz")
                if status == 200:
                    return dict(json.loads(body))
            await asyncio.sleep(0.1)
        raise AssertionError("never ready:\n" + "\n".join(self.lines))

    async def stop(self, within: float) -> int:
        """SIGTERM, and the exit code. The service must have stopped (logged "service stopped")
        within `within` seconds of the signal; the interpreter's own exit after that gets
        EXIT_SLACK more (on a loaded 2-core machine it once took 0.7 s, past a 3 s grace)."""
        self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), timeout=within + EXIT_SLACK)
        await self._reader
        stamps = {e["event"]: e["timestamp"] for e in self.events() if "timestamp" in e}
        if "service stopped" in stamps:
            took = datetime.fromisoformat(stamps["service stopped"]) - datetime.fromisoformat(
                stamps["signal received: shutting down"]
            )
            assert took.total_seconds() <= within, (took, "\n".join(self.lines))
        return code


@contextlib.asynccontextmanager
async def service_process(env: dict[str, str], port: int) -> AsyncIterator[Service]:
    proc = await asyncio.create_subprocess_exec(
        *image_command(), env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    service = Service(proc, port)
    try:
        yield service
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        service._reader.cancel()


def assert_a_quiet_cancellation(service: Service) -> None:
    """A run cancelled at shutdown is expected: one line for it, nothing at ERROR, no
    traceback from anyone (the scheduler's job wrapper, the pool, asyncio)."""
    events = service.events()
    cancelled = [e for e in events if e["event"] == "sync run cancelled"]
    assert len(cancelled) == 1 and cancelled[0]["level"] in ("info", "warning"), cancelled
    loud = [e for e in events if e["level"] in ("error", "critical") or "exception" in e]
    assert not loud, "\n".join(service.lines)
    assert "Traceback" not in "\n".join(service.lines)


async def run_cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "syncer"), *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return float(s.value)
    raise AssertionError(f"no sample {name}{labels}")


async def test_the_image_command_syncs_reports_and_stops_cleanly_on_sigterm(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    port, grace = free_port(), 5.0
    async with live_simulator(orders_per_account=50) as running:
        sub = running.sim.config.subscriptions[0]
        env = service_env(
            running, database_url, [A, B],
            **{**image_settings(), "health_port": port, "schedule_interval_seconds": 3600,
               "shutdown_grace_seconds": grace, "log_level": "DEBUG"},
        )  # fmt: skip
        async with service_process(env, port) as service:
            ready = await service.wait_ready()
            assert ready["problems"] == []
            assert {a: r["last_outcome"] for a, r in ready["accounts"].items()} == {
                A: "succeeded",
                B: "succeeded",
            }
            status, metrics = await service.get("/metrics")
            assert status == 200
            probe = await run_cli("health", env=env)  # the image's HEALTHCHECK
            code = await service.stop(within=grace)

    assert code == 0, "\n".join(service.lines)
    assert probe[0] == 0 and probe[1].strip().endswith("/healthz: 200")
    throttled = [
        s for f in text_string_to_metric_families(metrics) for s in f.samples
        if s.labels.get("status") == "429"
    ]  # fmt: skip
    assert throttled == []
    for account in (A, B):
        assert sample(metrics, "syncer_runs_total", account=account, outcome="succeeded") == 1
        assert sample(metrics, "syncer_orders_total", account=account, outcome="loaded") == 50
        assert sample(metrics, "syncer_orders_total", account=account, outcome="listed") == 50
        assert sample(metrics, "syncer_api_calls_total",
                      account=account, operation="detail", status="200") == 50  # fmt: skip
        assert sample(metrics, "syncer_run_duration_seconds_count", account=account) == 1
        last = sample(metrics, "syncer_last_success_timestamp_seconds", account=account)
        assert 0 <= time.time() - last < 60
        await assert_matches_truth(clean_engine, running.sim, account)

    # Logs: JSON off a terminal, one line per run with its counts, every request at debug
    # level, a clean stop, and not one secret even at the most verbose level.
    events = service.events()
    requests = [e for e in events if e["logger"] == "syncer.api.transport"]
    assert len(requests) >= 100 and {e["level"] for e in requests} == {"debug"}
    per_run = [e for e in events if e["event"] == "sync run"]
    assert sorted(e["account"] for e in per_run) == [A, B]
    assert all(e["loaded"] == 50 and e["outcome"] == "succeeded" for e in per_run)
    assert [e["event"] for e in events][-2:] == [
        "signal received: shutting down",
        "service stopped",
    ]
    text = "\n".join(service.lines)
    assert sub.client_secret not in text and sub.subscription_key not in text

    after = await run_cli("health", env=env)
    assert after[0] == 1 and "Traceback" not in after[2]


async def test_sigterm_during_a_sync_leaves_no_half_loaded_order_and_the_next_run_completes(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    # 600 orders at 20 ms per call, two at a time: a run of ~6 s, far over the grace period.
    port, grace = free_port(), 3.0
    async with live_simulator(orders_per_account=600, latency_ms=20) as running:
        env = service_env(
            running, database_url, [A],
            **{**image_settings(), "health_port": port, "api_concurrency": 2,
               "sync_batch_size": 10, "shutdown_grace_seconds": grace},
        )  # fmt: skip
        async with service_process(env, port) as service:
            deadline = time.monotonic() + 60
            while len(await loaded_orders(clean_engine, A)) < 20:
                assert time.monotonic() < deadline and service.proc.returncode is None
                await asyncio.sleep(0.05)
            code = await service.stop(within=grace)

        assert code == 0, "\n".join(service.lines)
        assert_a_quiet_cancellation(service)
        loaded = await loaded_orders(clean_engine, A)
        assert 20 <= len(loaded) < 600
        rows = await assert_orders_match_truth(clean_engine, running.sim, A, loaded)
        assert rows > len(loaded)  # children were compared, not just headers
        async with clean_engine.connect() as conn:
            outcome = (await conn.exec_driver_sql(
                "SELECT outcome FROM scansource.sync_runs"
            )).scalar_one()  # fmt: skip
        assert outcome == "cancelled"

        # The next run picks up and the warehouse equals the source.
        unlimited = {"SYNCER_API_RATE_LIMIT_PER_SECOND": "10000", "SYNCER_API_RATE_BURST": "100"}
        again = {**env, "SYNCER_API_CONCURRENCY": "16", **unlimited}
        code, out, err = await run_cli("sync", "--once", env=again)
        assert code == 0, err
        assert json.loads(out)["loaded"] == 600 - len(loaded)
        await assert_matches_truth(clean_engine, running.sim, A)


async def test_a_second_signal_cancels_the_run_in_flight_without_waiting_for_the_grace(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    # A run of ~15 s (300 calls of 50 ms, one at a time) and a grace period of a minute.
    port = free_port()
    async with live_simulator(orders_per_account=300, latency_ms=50) as running:
        env = service_env(
            running, database_url, [A],
            **{**image_settings(), "health_port": port, "api_concurrency": 1,
               "sync_batch_size": 10, "shutdown_grace_seconds": 60},
        )  # fmt: skip
        async with service_process(env, port) as service:
            deadline = time.monotonic() + 60
            while len(await loaded_orders(clean_engine, A)) < 10:
                assert time.monotonic() < deadline and service.proc.returncode is None
                await asyncio.sleep(0.05)
            service.proc.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)
            service.proc.send_signal(signal.SIGINT)  # an impatient operator: Ctrl-C
            code = await asyncio.wait_for(service.proc.wait(), timeout=10)
            await service._reader

        assert code == 0, "\n".join(service.lines)
        events = [e["event"] for e in service.events()]
        assert "second signal: cancelling runs in flight now" in events
        assert events[-1] == "service stopped"
        assert_a_quiet_cancellation(service)
        loaded = await loaded_orders(clean_engine, A)
        await assert_orders_match_truth(clean_engine, running.sim, A, loaded)


async def test_a_stop_that_cannot_finish_in_the_grace_period_is_cut_short_with_exit_1() -> None:
    # A "database" that accepts connections and never answers: start-up hangs in the check.
    connected = asyncio.Event()

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        await reader.read()  # until the client goes away
        writer.close()

    server = await asyncio.start_server(mute, "127.0.0.1", 0)
    db_port = server.sockets[0].getsockname()[1]
    port = free_port()
    try:
        async with live_simulator(orders_per_account=1) as running:
            env = service_env(
                running, f"postgresql://x@127.0.0.1:{db_port}/x", [A],
                health_port=port, shutdown_grace_seconds=1,
            )  # fmt: skip
            async with service_process(env, port) as service:
                # In the hanging database check, so past installing its signal handlers (a
                # fixed sleep was not always past Python's start-up on a busy machine).
                await asyncio.wait_for(connected.wait(), timeout=60)
                await asyncio.sleep(0.2)
                assert service.proc.returncode is None
                code = await service.stop(within=10)
    finally:
        server.close()
    assert code == 1
    last = service.events()[-1]
    assert last["event"] == "shutdown overran the grace period; exiting now"
    assert last["level"] == "info"  # the platform's stop, cut short: expected, not an error
    assert not [e for e in service.events() if e["level"] in ("error", "critical")]


async def test_run_with_an_unreachable_database_is_one_line_and_exit_1() -> None:
    async with live_simulator(orders_per_account=1) as running:
        env = service_env(
            running, "postgresql://nobody:pw-123@127.0.0.1:1/none", [A], health_port=free_port()
        )
        code, _, err = await run_cli("run", env=env)
    assert code == 1
    assert err.strip().splitlines() == [err.strip()]  # one line
    assert "database unreachable" in err and "Traceback" not in err and "pw-123" not in err


async def test_config_show_masks_every_secret_in_the_effective_configuration(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("file-key-5511\n")
    accounts = json.dumps([
        {"customer_number": A},
        {"customer_number": B, "client_id": "b-client", "client_secret": "acct-secret-7733",
         "subscription_key": "acct-key-8844"},
    ])  # fmt: skip
    env = {
        "PATH": str(BIN),
        "SYNCER_DATABASE_URL": "postgresql://wh:db-pass-2211@db:5432/analytics",
        "SYNCER_API_CLIENT_SECRET": "env-secret-9922",
        "SYNCER_API_SUBSCRIPTION_KEY_FILE": str(key_file),
        "SYNCER_ACCOUNTS": accounts,
        "SYNCER_SCHEDULE_CRON": "*/10 6-22 * * 1-5",
    }
    code, out, err = await run_cli("config", "show", env=env)
    assert code == 0, err
    shown = json.loads(out)
    for secret in ("db-pass-2211", "env-secret-9922", "file-key-5511", "acct-secret-7733",
                   "acct-key-8844"):  # fmt: skip
        assert secret not in out
    assert shown["api_client_secret"] == shown["api_subscription_key"] == "**********"
    assert shown["accounts"][1]["client_secret"] == "**********"
    assert shown["accounts"][1]["client_id"] == "b-client"
    assert shown["database_url"] == "postgresql://wh:***@db:5432/analytics"
    assert shown["schedule_cron"] == "*/10 6-22 * * 1-5"  # the service settings are there too
    assert shown["health_port"] == 8000 and shown["shutdown_grace_seconds"] == 30.0


async def test_a_malformed_config_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "syncer.toml"
    bad.write_text('schedule_cron = "*/5 * * * *\n')
    code, _, err = await run_cli("run", "--config", str(bad), env={"PATH": str(BIN)})
    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert str(bad) in err and "not valid TOML" in err and "Traceback" not in err


# Every family `syncer run` serves, with its type: counters end in _total, times are in
# seconds (durations, and timestamps rather than ages), nothing else is served.
SYNCER_FAMILIES = {
    "syncer_build_info": "gauge",
    "syncer_runs": "counter",
    "syncer_orders": "counter",
    "syncer_rows_written": "counter",
    "syncer_api_calls": "counter",
    "syncer_api_request_duration_seconds": "histogram",
    "syncer_run_duration_seconds": "histogram",
    "syncer_run_in_progress": "gauge",
    "syncer_open_failures": "gauge",
    "syncer_last_success_timestamp_seconds": "gauge",
    "syncer_last_run_timestamp_seconds": "gauge",
    "syncer_api_rate_limit_requests_per_second": "gauge",
    "syncer_api_congestion_events": "counter",
}
PROCESS_FAMILIES = {
    "process_cpu_seconds": "counter",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_start_time_seconds": "gauge",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "python_info": "gauge",
}


def check_conventions(text: str) -> dict[str, str]:
    """The families of an exposition by type, once each checked against the conventions."""
    declared = re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.M)
    helped = set(re.findall(r"^# HELP (\S+) \S", text, flags=re.M))
    assert len({n for n, _ in declared}) == len(declared), "a family declared twice"
    for name, kind in declared:
        assert name in helped, f"{name}: no HELP"
        assert (kind == "counter") == name.endswith("_total"), f"{name} is a {kind}"
        assert not name.endswith("_created") and "since" not in name, name
        for unit in ("seconds", "bytes"):
            if unit in name:
                assert name.removesuffix("_total").endswith(f"_{unit}"), f"{name}: unit suffix"
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert families == {**SYNCER_FAMILIES, **PROCESS_FAMILIES}
    return families


async def test_metrics_follow_the_prometheus_conventions_during_and_after_a_run(
    clean_engine: AsyncEngine, database_url: str
) -> None:
    port = free_port()
    # 60 details of 30 ms, two at a time: the run lasts about a second, long enough to scrape.
    async with live_simulator(orders_per_account=60, latency_ms=30) as running:
        env = service_env(
            running, database_url, [A],
            **{**image_settings(), "health_port": port, "schedule_interval_seconds": 3600,
               "api_concurrency": 2},
        )  # fmt: skip
        async with service_process(env, port) as service:
            during = None
            deadline = time.monotonic() + 60
            while during is None and time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientConnectionError):
                    status, text = await service.get("/metrics")
                    if status == 200 and sample(text, "syncer_run_in_progress", account=A) == 1:
                        during = text
                await asyncio.sleep(0.02)
            assert during is not None, "never saw the run in progress"
            await service.wait_ready()
            status, after = await service.get("/metrics")
            assert status == 200
            code = await service.stop(within=10)
    assert code == 0

    for text in (during, after):
        check_conventions(text)
    assert sample(during, "syncer_last_success_timestamp_seconds", account=A) == 0
    assert sample(during, "syncer_runs_total", account=A, outcome="succeeded") == 0
    assert sample(after, "syncer_runs_total", account=A, outcome="succeeded") == 1
    assert sample(after, "syncer_run_in_progress", account=A) == 0
    assert 0 < time.time() - sample(after, "syncer_last_success_timestamp_seconds", account=A) < 60
    h = "syncer_api_request_duration_seconds"
    assert sample(after, f"{h}_count", operation="detail", status="200") == 60
    # Every detail waited the simulator's 30 ms: none is in the buckets below it.
    assert sample(after, f"{h}_bucket", operation="detail", status="200", le="0.025") == 0
    assert sample(after, f"{h}_count", operation="token", status="200") == 1
    rows = {
        s.labels["table"]: s.value
        for f in text_string_to_metric_families(after) for s in f.samples
        if s.name == "syncer_rows_written_total"
    }  # fmt: skip
    assert rows["sales_orders"] == 60 and sum(rows.values()) > 60
    assert sample(after, "syncer_api_rate_limit_requests_per_second", account=A) > 0
    assert sample(after, "syncer_api_congestion_events_total", account=A) == 0
    assert sample(after, "syncer_open_failures", account=A) == 0
    run = sample(after, "syncer_run_duration_seconds_sum", account=A)
    assert sample(after, "syncer_run_duration_seconds_bucket", account=A, le="0.01") == 0
    assert 0.5 < run < 60
    assert sample(after, "process_resident_memory_bytes") > 0
