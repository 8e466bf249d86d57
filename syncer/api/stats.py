"""API calls counted by operation and HTTP status, per transport and per run.

Every request the transport makes is recorded in its `ApiStats`, and also in the stats of the
run in progress (`run_stats`, set by the sync for its tasks), so a run reports only its own
calls. The service's metrics time each request through `ApiStats.observer`: this layer does not
know them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class ApiStats:
    """API calls by operation and HTTP status ('error' when no response came back).
    `observer`, if set, is told each request's operation, status and seconds (the service's
    metrics set it: this layer does not know them)."""

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    observer: Callable[[str, str, float], None] | None = None

    def record(self, operation: str, status: int | str, seconds: float | None = None) -> None:
        self.calls[(operation, str(status))] += 1
        if self.observer is not None and seconds is not None:
            self.observer(operation, str(status), seconds)
        per_run = run_stats.get()
        if per_run is not None and per_run is not self:
            per_run.calls[(operation, str(status))] += 1

    @property
    def throttled(self) -> int:
        return sum(n for (_, status), n in self.calls.items() if status == "429")

    def requests(self, operation: str) -> int:
        return sum(n for (op, _), n in self.calls.items() if op == operation)

    def as_dict(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for (op, status), n in sorted(self.calls.items()):
            out.setdefault(op, {})[status] = n
        return out


# The stats of the run in progress: every call made inside a run's tasks is counted there too.
run_stats: ContextVar[ApiStats | None] = ContextVar("run_stats", default=None)
