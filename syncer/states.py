"""Names for the states a run and a failure are recorded in (`sync_runs`, `sync_failures`).

Each value is the text stored in the warehouse and shown in JSON output; a StrEnum member equals
its text, so code may compare either with either.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """How a run ended (`sync_runs.outcome`)."""

    RUNNING = "running"  # not ended yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"  # another syncer holds the account; never recorded in sync_runs
    CANCELLED = "cancelled"  # shutdown
    ABANDONED = "abandoned"  # its process died: so marked by the account's next run


class RunKind(StrEnum):
    """What a run was asked to do (`sync_runs.kind`)."""

    SYNC = "sync"  # incremental, from the watermark: advances it when complete
    BACKFILL = "backfill"  # a given window, in pieces: leaves the watermark alone


class Stage(StrEnum):
    """Where an order failed (`sync_failures.stage`)."""

    LIST = "list"  # a search by its number no longer finds it
    FETCH = "fetch"  # its detail could not be fetched, or was refused
    PARSE = "parse"  # its detail could not be turned into rows
    LOAD = "load"  # the database refused its rows


class Resolution(StrEnum):
    """How a failure was closed (`sync_failures.resolution`); NULL while it is open, retried by
    every run."""

    GONE = "gone"  # runs in a row found the order gone from the API
