"""Each order goes to one writer, the same in every process, and the writers share the work."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

from syncer.sync.pipeline import writer_of

NUMBERS = [str(7_000_000_000 + 7 * i + i % 3) for i in range(10_000)]


def test_an_order_always_goes_to_the_same_writer_whatever_the_process() -> None:
    here = [writer_of(n, 3) for n in NUMBERS[:50]]
    script = (
        "from syncer.sync.pipeline import writer_of; "
        f"print([writer_of(n, 3) for n in {NUMBERS[:50]!r}])"
    )
    # A fresh interpreter has another string-hash seed: routing must not depend on it.
    there = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert there.strip() == str(here)


def test_orders_are_spread_evenly_over_the_writers() -> None:
    for writers in (1, 2, 4):
        shares = Counter(writer_of(n, writers) for n in NUMBERS)
        assert set(shares) == set(range(writers))
        assert max(shares.values()) < 1.1 * len(NUMBERS) / writers
