"""What a run lists and fetches: its window of change dates, a backfill's pieces of it, and
which listed orders need their detail fetched again."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from syncer.api.payload import OrderListRow
from syncer.warehouse.loader import Stored

Window = tuple[date | None, date]  # (first day, last day) of LastChanged; None: from the start
MAX_PIECE_DAYS = 366  # the longest piece of a backfill's window listed at once


def run_window(
    watermark: datetime | None, now: datetime, tz: ZoneInfo, lookback_days: int
) -> Window:
    """An incremental run's window: from `lookback_days` before the watermark's day (in the
    API's time zone) to today; everything on the first run, which has no watermark."""
    today = now.astimezone(tz).date()
    if watermark is None:
        return (None, today)
    start = watermark.astimezone(tz).date() - timedelta(days=lookback_days)
    return (min(start, today), today)


def needs_fetch(listed: OrderListRow, stored: Stored | None, margin: timedelta) -> bool:
    """Fetch unless we already hold this LastChanged *and* fetched it safely after its minute.

    LastChanged has minute precision: a change later in the same minute as our fetch would carry
    the same stamp, so a fetch counts only if it happened after that minute ended (plus a margin
    for clock skew between us and ScanSource). docs/decisions/0005-skip-rule-and-safety-margin.md
    """
    if stored is None or listed.last_changed is None:
        return True
    if stored.last_changed != listed.last_changed:
        return True
    minute_end = listed.last_changed.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return stored.detail_fetched_at < minute_end + margin


def next_piece_days(days: int, listed: int, page_size: int, least: int) -> int:
    """How many days the next piece of a backfill lists: twice as many after a piece whose
    orders would fit in one list page twice over, up to a year (a quiet stretch of history costs
    a few list calls, not one a week: ten years of a small account took 522); as many after one
    that filled its page more than half; `least` again after one that needed more than a page.
    (Doubling a piece that filled more than half its page would mostly list a full first page,
    and be listed again.)"""
    if listed >= page_size:
        return least
    if 2 * listed < page_size:
        return min(days * 2, max(MAX_PIECE_DAYS, least))
    return days


class Pieces:
    """A backfill's window, piece by piece, from `least` days at a time (`next_piece_days`). A
    piece grown longer than that is listed only if its orders fit in one page (`one_page`); else
    it is listed again, `least` days at a time. Offset paging can miss an order when another
    leaves the window between two page reads, so pieces of more than one page stay as short as
    `least` makes them.

        plan = Pieces(window, least, page_size)
        while (piece := plan.next()) is not None:
            plan.listed(<orders listed in piece, or None: one_page and its first page was full>)
    """

    def __init__(self, window: tuple[date, date], least: int, page_size: int) -> None:
        if least < 1:
            raise ValueError(f"chunk_days must be at least 1, not {least}")
        self._start, self._end = window
        self._least = least
        self._page_size = page_size
        self._days = least
        self._stop = self._start

    @property
    def one_page(self) -> bool:
        """Whether the current piece is grown: listed only if its first page is not full."""
        return self._days > self._least

    def next(self) -> tuple[date, date] | None:
        """The next piece to list, or None when the window is done."""
        if self._start > self._end:
            return None
        self._stop = min(self._end, self._start + timedelta(days=self._days - 1))
        return (self._start, self._stop)

    def listed(self, listed: int | None) -> None:
        """How many orders the current piece listed; None: a grown piece reached a busy stretch,
        and is listed again, `least` days at a time."""
        if listed is None:
            self._days = self._least
            return
        self._days = next_piece_days(self._days, listed, self._page_size, self._least)
        self._start = self._stop + timedelta(days=1)
