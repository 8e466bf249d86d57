"""The benchmarks, small: they fail only when something is grossly wrong (detail calls on a run
with nothing changed, memory growing with the number of orders), never on timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def bench(script: str, admin_url: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--database-url", admin_url, *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.mark.slow
def test_incremental_runs_fetch_only_what_changed_and_nothing_when_nothing_did(
    admin_url: str,
) -> None:
    out = bench("incremental.py", admin_url, "--orders", "600")
    assert "unchanged run: 0 detail calls" in out
    assert "30 changed" in out


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_number_of_orders(admin_url: str) -> None:
    # Both sizes are several list pages (1,000 rows each) and many batches, where the peak has
    # levelled off (measured: +5.7 MB from 3,000 to 12,000 orders; +1 MB from 10,000 to
    # 100,000). Keeping only each order's raw body, about 5 KB, would add some 45 MB.
    out = bench(
        "scale.py", admin_url, "--sizes", "3000", "12000", "--changes", "50", "--rounds", "1",
        "--max-rss-growth-mb", "30",
    )  # fmt: skip
    assert "full sync peak RSS, 12,000 ÷ 3,000 orders" in out


def test_the_copy_encoding_bench_compares_both_codecs_on_the_same_rows(admin_url: str) -> None:
    out = bench("copy_encoding.py", admin_url, "--quick", "--repeat", "1")
    assert "COPY encoding of 500 orders" in out
    assert "asyncpg's codecs" in out and "1.00x" in out and "syncer.warehouse.numeric" in out


@pytest.mark.slow
def test_the_occupancy_bench_accounts_for_every_sample(admin_url: str) -> None:
    out = bench("occupancy.py", admin_url, "--orders", "300")
    shares = [float(line.split()[-1].rstrip("%")) for line in out.splitlines()
              if line.strip()[:1].isdigit() and line.strip().endswith("%")]  # fmt: skip
    assert 99.5 < sum(shares) < 100.5  # the "how many" table: 0, 1, 2... processes
    assert "syncer" in out and "postgres" in out and "alone:" in out
