"""The chaos suite: a short version in every test run, the long one with CHAOS_LONG=1.

Its summary is printed by tests/conftest.py (the xdist controller never loads this file)."""

from __future__ import annotations

from tests.integration.conftest import harness, harness_factory  # noqa: F401 - fixtures
