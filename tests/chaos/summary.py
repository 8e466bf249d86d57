"""What the chaos suite did, printed at the end of the test session (see conftest.py)."""

from __future__ import annotations

from collections import Counter

figures: Counter[str] = Counter()


def add(name: str, n: int = 1) -> None:
    figures[name] += n


def long_run() -> bool:
    """CHAOS_LONG=1 runs the long version (more kills, more orders, more payloads)."""
    import os

    return os.environ.get("CHAOS_LONG", "") not in ("", "0")


async def compare(engine: object, sim: object, customer: str | None = None,
                  exclude: set[str] | None = None) -> None:  # fmt: skip
    """Compare the warehouse with the truth row by row, counting rows and mismatches."""
    from tests.truth import diff, warehouse, without

    expected = sim.truth(customer)  # type: ignore[attr-defined]
    actual = await warehouse(engine, customer)  # type: ignore[arg-type]
    if exclude:
        expected, actual = without(expected, exclude), without(actual, exclude)
    problems = diff(expected, actual)
    add("rows_compared", sum(len(v) for v in expected.values()))
    add("mismatches", len(problems))
    assert not problems, "warehouse differs from the simulator:\n" + "\n".join(problems)
