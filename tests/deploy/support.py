"""Helpers for the deployment tests: a standalone `syncer sim` process, the warehouse's row
counts, and the simulator's ground truth to compare them with."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from syncer.sim import SimConfig, Simulator
from syncer.warehouse import schema

ROOT = Path(__file__).resolve().parents[2]
SEED = 42  # `syncer sim`'s default seed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_status(url: str) -> int:
    """The status a GET of `url` answers with; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any SYNCER_* setting or virtualenv, plus `extra`."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SYNCER_") and k not in drop}
    return {**base, **extra}


@dataclass(frozen=True)
class StandaloneSim:
    """A running `syncer sim`, as its banner describes it."""

    port: int
    orders_per_account: int
    base_url: str
    token_url: str
    client_id: str
    client_secret: str
    subscription_key: str
    customers: tuple[str, ...]

    def settings(self) -> dict[str, str]:
        """The SYNCER_* settings that point a syncer at it (README: ad-hoc API calls)."""
        return {
            "SYNCER_API_BASE_URL": self.base_url,
            "SYNCER_API_TOKEN_URL": self.token_url,
            "SYNCER_API_CLIENT_ID": self.client_id,
            "SYNCER_API_CLIENT_SECRET": self.client_secret,
            "SYNCER_API_SUBSCRIPTION_KEY": self.subscription_key,
            "SYNCER_ACCOUNTS": ",".join(self.customers),
            "SYNCER_API_RATE_LIMIT_PER_SECOND": "1000",  # the simulator sets no quota
        }

    def truth_counts(self) -> dict[str, int]:
        """Rows per warehouse table that a full sync of every account must produce."""
        sim = Simulator(SimConfig(seed=SEED, orders_per_account=self.orders_per_account))
        return {table: len(rows) for table, rows in sim.truth().items()}


_SUBSCRIPTION = re.compile(
    r"subscription: client_id=(\S+) client_secret=(\S+) subscription_key=(\S+) customers=(\S+)"
)
_API = re.compile(r"API: (\S+)\s+token: (\S+)")


@contextlib.contextmanager
def standalone_sim(
    command: list[str], *, port: int, orders: int, log: Path, cwd: Path | None = None
) -> Iterator[StandaloneSim]:
    """Run `<command> sim` (a venv's `syncer`, or `docker run ... syncer`) on 127.0.0.1:port
    until the block ends; its output goes to `log`, read for its credentials."""
    args = [*command, "sim", "--port", str(port), "--orders", str(orders)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=clean_environment()
        )
    try:
        yield _wait_until_serving(proc, port, orders, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_serving(
    proc: subprocess.Popen[bytes], port: int, orders: int, log: Path, timeout: float = 120
) -> StandaloneSim:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"`syncer sim` exited {proc.returncode}:\n{log.read_text()}")
        text = log.read_text()
        sub, api = _SUBSCRIPTION.search(text), _API.search(text)
        if sub and api and _accepts(port):
            return StandaloneSim(
                port, orders, api[1], api[2], sub[1], sub[2], sub[3], tuple(sub[4].split(","))
            )
        time.sleep(0.2)
    raise AssertionError(f"`syncer sim` not serving on port {port} after {timeout} s:\n{text}")


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def warehouse_counts(database_url: str) -> dict[str, int]:
    """Rows per warehouse table, read straight from Postgres."""

    async def count() -> dict[str, int]:
        con = await asyncpg.connect(database_url)
        try:
            return {
                t.name: await con.fetchval(f"SELECT count(*) FROM {schema.SCHEMA}.{t.name}")
                for t in schema.DATA_TABLES
            }
        finally:
            await con.close()

    return asyncio.run(count())
