"""The structured lines the syncer logged, as `caplog` caught them: one dict per line."""

from __future__ import annotations

from typing import Any

import pytest


def events(caplog: pytest.LogCaptureFixture, event: str = "") -> list[dict[str, Any]]:
    """The event dicts of the captured lines whose event contains `event`."""
    return [
        dict(r.msg)
        for r in caplog.records
        if isinstance(r.msg, dict) and event in str(r.msg.get("event", ""))
    ]
