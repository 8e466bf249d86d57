"""The validators' fast paths give exactly what the full rules give; the list is read ahead."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.api.values import EASTERN, MAX_INTEGER_DIGITS, _number, _timestamp, _whole
from syncer.sync.listing import read_ahead

BOUND = 10**MAX_INTEGER_DIGITS


@given(st.integers(min_value=-BOUND + 1, max_value=BOUND - 1))
def test_an_integer_becomes_the_decimal_of_its_text(v: int) -> None:
    got = _number(v)
    assert got == Decimal(str(v)) and str(got) == str(Decimal(str(v)))


@given(st.floats(min_value=-1e15, max_value=1e15, exclude_min=True, exclude_max=True))
def test_a_float_becomes_the_decimal_of_its_shortest_repr(v: float) -> None:
    expected = Decimal(repr(v))
    if expected.as_tuple().exponent < -30:  # type: ignore[operator]
        expected = round(expected, 30)
    got = _number(v)
    assert got == expected and str(got) == str(expected)


def test_numbers_past_the_bounds_still_take_the_full_rules() -> None:
    with pytest.raises(ValueError, match="too large"):
        _number(BOUND)
    with pytest.raises(ValueError, match="too large"):
        _number(1e16)
    with pytest.raises(ValueError, match="boolean"):
        _number(True)
    assert _number(1e-40) == Decimal(0)  # rounded to 30 places, as before
    assert _whole(3) == 3 and _whole(2.6) == 3 and _whole("7") == 7
    with pytest.raises(ValueError, match="out of range"):
        _whole(2**31)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31)))
def test_the_lists_us_format_parses_as_strptime_would(when: datetime) -> None:
    hour = when.hour % 12 or 12
    half = "AM" if when.hour < 12 else "PM"
    text = f"{when.month}/{when.day}/{when.year} {hour}:{when.minute:02d} {half}"
    expected = datetime.strptime(text, "%m/%d/%Y %I:%M %p").replace(tzinfo=EASTERN)
    assert _timestamp(text) == expected
    assert _timestamp(text.lower()) == expected


@pytest.mark.parametrize("text", ["2/30/2024 1:00 PM", "1/1/2024 13:00 PM", "1/1/2024 0:30 AM"])
def test_impossible_us_dates_are_unreadable_not_errors(text: str) -> None:
    assert _timestamp(text) is None


async def test_the_next_page_is_requested_while_the_current_one_is_handled() -> None:
    asked: list[int] = []

    async def pages() -> AsyncIterator[int]:
        for n in range(1, 4):
            asked.append(n)
            await asyncio.sleep(0)
            yield n

    seen = []
    async for page in read_ahead(pages()):
        await asyncio.sleep(0.01)  # handling the page: the next request is already out
        seen.append((page, list(asked)))
    assert seen == [(1, [1, 2]), (2, [1, 2, 3]), (3, [1, 2, 3])]


async def test_a_failing_page_fails_the_reader_and_an_abandoned_read_is_cancelled() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("page 2 failed")

    with pytest.raises(RuntimeError, match="page 2 failed"):
        async for _ in read_ahead(failing()):
            pass

    finished = asyncio.Event()

    async def slow() -> AsyncIterator[int]:
        try:
            yield 1
            await asyncio.sleep(60)
            yield 2
        finally:
            finished.set()

    stream = read_ahead(slow())
    assert await anext(stream) == 1
    await stream.aclose()
    await asyncio.wait_for(finished.wait(), 1)  # the read of page 2 did not outlive us
