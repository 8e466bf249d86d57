"""How a backfill cuts its window: longer pieces through quiet stretches, short ones again where
the orders are."""

from __future__ import annotations

from datetime import date, timedelta

from syncer.sync.windows import MAX_PIECE_DAYS, Pieces, next_piece_days


def test_a_piece_that_fits_in_one_page_doubles_the_next_up_to_a_year() -> None:
    days, seen = 7, []
    for _ in range(10):
        days = next_piece_days(days, listed=3, page_size=1000, least=7)
        seen.append(days)
    assert seen == [14, 28, 56, 112, 224, 366, 366, 366, 366, 366]
    assert MAX_PIECE_DAYS == 366


def test_a_piece_that_filled_more_than_half_its_page_keeps_its_length() -> None:
    assert next_piece_days(56, listed=500, page_size=1000, least=7) == 56
    assert next_piece_days(56, listed=999, page_size=1000, least=7) == 56
    assert next_piece_days(56, listed=499, page_size=1000, least=7) == 112


def test_a_piece_that_needed_more_than_one_page_brings_the_next_back_to_the_least() -> None:
    assert next_piece_days(224, listed=1000, page_size=1000, least=7) == 7
    assert next_piece_days(224, listed=2500, page_size=1000, least=3) == 3
    # An empty piece is a quiet one too.
    assert next_piece_days(7, listed=0, page_size=1000, least=7) == 14


def test_a_least_longer_than_a_year_is_kept() -> None:
    assert next_piece_days(400, listed=0, page_size=1000, least=400) == 400


def test_pieces_grow_through_quiet_stretches_and_a_full_grown_piece_is_listed_again() -> None:
    start = date(2020, 1, 1)
    plan = Pieces((start, start + timedelta(days=99)), least=7, page_size=10)
    seen = []  # (first day, days, one_page), days counted from `start`
    # Quiet for 21 days (two orders a piece), then 25 orders a week: a grown piece fills its page.
    while (piece := plan.next()) is not None:
        first, days = (piece[0] - start).days, (piece[1] - piece[0]).days + 1
        seen.append((first, days, plan.one_page))
        busy = first >= 21
        plan.listed(None if busy and plan.one_page else 25 if busy else 2)
    assert seen[:5] == [
        (0, 7, False),
        (7, 14, True),
        (21, 28, True),
        (21, 7, False),
        (28, 7, False),
    ]
    assert seen[-1] == (98, 2, False)  # the window's end, cut short
    assert [f for f, _, _ in seen[4:]] == list(range(28, 99, 7))  # a week at a time to the end
