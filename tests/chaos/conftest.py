"""The chaos suite: a short version in every test run, the long one with CHAOS_LONG=1."""

from __future__ import annotations

from typing import Any

from tests.chaos import summary
from tests.integration.conftest import harness, harness_factory  # noqa: F401 - fixtures


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not summary.figures:
        return
    f = summary.figures
    terminalreporter.section("chaos summary")
    version = "long" if summary.long_run() else "short"
    faults = ", ".join(
        f"{k.removeprefix('fault:')} {v}" for k, v in sorted(f.items()) if k.startswith("fault:")
    )
    lines = [
        f"version: {version}",
        f"kills survived: {f['kills']}",
        f"faults injected: {faults or 'none'}",
        f"payloads tried: {f['payloads']} (failed as expected: {f['payloads_failed']}, "
        f"loaded: {f['payloads_loaded']})",
        f"concurrent processes: {f['processes']}",
        f"database outages survived: {f['outages']}",
        f"rows compared: {f['rows_compared']:,}",
        f"mismatches: {f['mismatches']}",
    ]
    for line in lines:
        terminalreporter.write_line(line)
