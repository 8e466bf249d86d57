"""The cyclic garbage collector, tuned for processes that churn through short-lived objects.

A sync (and the simulator) allocates millions of short-lived objects, nearly all freed by
reference counting; at CPython's default threshold (700) the collector still ran thousands of
full passes a sync. Cyclic garbage is still collected once this many container objects have
accumulated. docs/decisions/0008-garbage-collector-threshold.md
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
