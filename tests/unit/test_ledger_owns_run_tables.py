"""Only the run ledger (syncer.warehouse.ledger) writes or reads the run tables: a statement on
them anywhere else would be a second meaning of a run's state."""

from __future__ import annotations

import re
from pathlib import Path

import syncer

ROOT = Path(syncer.__file__).parent
RUN_TABLES = r"sync_(?:runs|state|failures)"
# A statement naming one of them after FROM, INTO, UPDATE, JOIN, USING or TABLE, bare or
# schema-qualified (`scansource.` or `{S}.`), or a name built from the schema's table.
REFERENCE = re.compile(
    rf"\b(?:FROM|INTO|UPDATE|JOIN|USING|TABLE)\s+(?:[\w{{}}]+\.)?{RUN_TABLES}\b"
    rf"|\bschema\.{RUN_TABLES}\b",
    re.IGNORECASE,
)
OWNERS = {ROOT / "warehouse" / "ledger.py"}
NOT_RUNTIME = ("migrations", "sim")  # the schema's history; the API simulator


def test_no_module_but_the_ledger_has_sql_on_the_run_tables() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {m.group(0)}"
        for path in ROOT.rglob("*.py")
        if path not in OWNERS and path.relative_to(ROOT).parts[0] not in NOT_RUNTIME
        for m in REFERENCE.finditer(path.read_text())
    ]
    assert found == []


def test_the_check_sees_the_ledgers_statements() -> None:
    text = (ROOT / "warehouse" / "ledger.py").read_text()
    named = {m.group(0).split(".")[-1].lower() for m in REFERENCE.finditer(text)}
    assert named == {"sync_runs", "sync_state", "sync_failures"}
