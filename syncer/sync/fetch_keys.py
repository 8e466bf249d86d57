"""The orders a run has queued for fetching, as (order number, LastChanged) pairs.

An order can be listed twice in one run: by the retry of failed orders and by the window, on two
pages of the window when it moved between two reads, in two pieces of a backfill. It is fetched
once per LastChanged: listed again with a newer one, it has changed since, and is fetched again.

This grows with the orders a run fetches, so each pair is kept small: a number of ASCII digits
(ScanSource's are) and its stamp make one int; any other number is kept as a string.
"""

from __future__ import annotations

from datetime import datetime

_STAMP_BITS = 40  # whole seconds since 1970, plus one (0: no LastChanged), until the year 36812


class FetchKeys:
    def __init__(self) -> None:
        self._keys: set[int | str] = set()

    def __contains__(self, order: tuple[str, datetime | None]) -> bool:
        return _key(*order) in self._keys

    def add(self, order_number: str, last_changed: datetime | None) -> None:
        self._keys.add(_key(order_number, last_changed))

    def __len__(self) -> int:
        return len(self._keys)


def _key(order_number: str, last_changed: datetime | None) -> int | str:
    stamp = 0 if last_changed is None else int(last_changed.timestamp()) + 1
    if order_number.isascii() and order_number.isdigit() and 0 <= stamp < 1 << _STAMP_BITS:
        # A leading 1 keeps leading zeros apart: "007" and "7" are two orders.
        return int("1" + order_number) << _STAMP_BITS | stamp
    return f"{order_number}\x00{stamp}"
