"""The cyclic garbage collector, tuned for processes that churn through short-lived objects.

A sync allocates millions of short-lived objects (decoded JSON, models, rows), the simulator
about as many (plans, views, payloads), nearly all freed by reference counting. At CPython's
default threshold (700) the collector still ran about 2,400 times in a 20,000-order full sync,
its full passes walking every long-lived object of the libraries: 1.6 of the syncer's 14 CPU
seconds, and about 1.2 of the simulator's 11 (bench/full_sync.py). Cyclic garbage (tracebacks,
futures) still triggers a collection once this many container objects have accumulated.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

GC_THRESHOLD = 50_000


@contextlib.contextmanager
def fewer_collections(threshold: int = GC_THRESHOLD) -> Iterator[None]:
    """Raise the collector's first threshold for the block; restore it afterwards. A threshold
    of 0 (automatic collection off) stays off."""
    before = gc.get_threshold()
    if before[0]:
        gc.set_threshold(max(threshold, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
