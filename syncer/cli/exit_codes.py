"""The `syncer` commands' exit codes, for scripts: each code means one thing whatever the
command, and each command's --help lists the ones it uses (its epilog, from here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import IntEnum

from syncer.states import Outcome


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # a run or a check failed, or an account is failing; or an error (database, API)
    CONFIG = 2  # the configuration or the command line is wrong (click's usage errors are 2 too)
    SKIPPED = 3  # sync/backfill: another instance holds an account, so it was skipped
    STALE = 4  # status: an account's last run succeeded, but longer ago than allowed
    INTERRUPTED = 130  # Ctrl-C (SIGINT), as shells report it


def for_runs(outcomes: Iterable[str]) -> ExitCode:
    """A failed run outweighs a skipped account: the skip resolves itself, the failure may not."""
    seen = set(outcomes)
    if seen - {Outcome.SUCCEEDED, Outcome.SKIPPED}:
        return ExitCode.FAILED
    return ExitCode.SKIPPED if Outcome.SKIPPED in seen else ExitCode.OK


def for_status(failing: Sequence[str], stale: Sequence[str]) -> ExitCode:
    """A failing account outweighs a stale one."""
    if failing:
        return ExitCode.FAILED
    return ExitCode.STALE if stale else ExitCode.OK


def epilog(meanings: dict[ExitCode, str]) -> str:
    """The exit codes a command uses, in order, as its --help shows them."""
    every = {**meanings, ExitCode.CONFIG: "a configuration or usage error"}
    return "Exit codes: " + "; ".join(f"{int(c)} {every[c]}" for c in sorted(every)) + "."


RUNS = epilog(
    {
        ExitCode.OK: "every run succeeded",
        ExitCode.FAILED: "a run failed",
        ExitCode.SKIPPED: "an account was skipped, another instance is syncing it "
        "(1 if a run failed too)",
    }
)
STATUS = epilog(
    {
        ExitCode.OK: "every configured account's last run succeeded, recently enough",
        ExitCode.FAILED: "an account's last run failed or none has finished, or the database "
        "could not be read",
        ExitCode.STALE: "an account's last run succeeded but is stale, as /readyz judges it: "
        "longer ago than health_stale_after_runs schedule periods (1 if another is failing)",
    }
)
CHECK = epilog(
    {
        ExitCode.OK: "every check passed",
        ExitCode.FAILED: "a check failed (the database, a token, a list call, the rate limit)",
    }
)
DEMO = epilog({ExitCode.OK: "every run succeeded", ExitCode.FAILED: "a run failed, or an error"})
SERVICE = epilog(
    {
        ExitCode.OK: "stopped by SIGTERM or SIGINT",
        ExitCode.FAILED: "an error stopped it (e.g. the database unreachable)",
    }
)
HEALTH = epilog({ExitCode.OK: "the service answered", ExitCode.FAILED: "it did not answer"})
SIMULATOR = epilog({ExitCode.INTERRUPTED: "stopped by Ctrl-C"})
DATABASE = epilog(
    {ExitCode.OK: "done", ExitCode.FAILED: "a database error (unreachable, a migration failed)"}
)
API = epilog(
    {
        ExitCode.OK: "the API answered",
        ExitCode.FAILED: "the API refused the call (e.g. HTTP 404), or the network failed",
    }
)
PRINTED = epilog({ExitCode.OK: "printed"})
