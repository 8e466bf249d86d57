"""The retry rules as plain functions: Retry-After, backoff with full jitter, body checks."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
import pytest

from syncer.api import jsonread, payload
from syncer.api.answers import check_json_body, parse_retry_after
from syncer.api.transport import full_jitter
from syncer.errors import (
    AuthError,
    PayloadError,
    PermanentApiError,
    RateLimited,
    TransientApiError,
    is_transient,
)

NOW = datetime(2026, 11, 20, 15, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        ("0", 0.0),
        ("0.25", 0.25),
        ("-3", 0.0),
        ("Fri, 20 Nov 2026 15:00:30 GMT", 30.0),
        ("Fri, 20 Nov 2026 14:59:00 GMT", 0.0),  # already past: go now
        ("", None),
        (None, None),
        ("soon", None),  # unreadable: the limiter's default applies
        ("nan", None),
        ("1e400", float("inf")),  # forever, in effect: the limiter's longest pause applies
        ("inf", float("inf")),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, NOW) == seconds


def test_backoff_is_uniform_between_zero_and_an_exponential_ceiling_with_a_cap() -> None:
    rng = random.Random(3)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (8, 10.0)):
        draws = [full_jitter(attempt, 0.25, 10.0, rng) for _ in range(2000)]
        assert 0 <= min(draws) < ceiling * 0.05
        assert ceiling * 0.95 < max(draws) <= ceiling
        assert sum(draws) / len(draws) == pytest.approx(ceiling / 2, rel=0.08)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"SalesOrderNumber": "7000'),  # truncated
        ("application/json", b'{,,"a": 1}'),  # malformed
        ("text/html", b"<html>Service unavailable</html>"),  # a gateway page
        ("text/plain", b'{"a": 1}'),  # JSON under the wrong content type
    ],
)
def test_a_broken_2xx_body_is_a_transient_error(content_type: str, body: bytes) -> None:
    with pytest.raises(TransientApiError):
        check_json_body("detail", 200, content_type, body)
    with pytest.raises(TransientApiError):  # the check the detail gets, which builds nothing
        check_json_body("detail", 200, content_type, body, jsonread.check)


def test_a_whole_json_body_is_parsed() -> None:
    assert check_json_body("detail", 200, "application/json", b'{"a": [1]}') == {"a": [1]}
    assert check_json_body("x", 200, "application/problem+json", b"[]") == []


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b'{"a": 1e400}', {"a": "1e400"}),
        (b"[-1E+400, 2.5, 3]", ["-1E+400", 2.5, 3]),
        (b"1" + b"0" * 400, "1" + "0" * 400),
        (
            b'{"a": 12345678901234567890123, "b": 1e400}',
            {"a": 12345678901234567890123, "b": "1e400"},
        ),
    ],
)
def test_numbers_no_double_holds_are_json_and_read_as_their_text(
    body: bytes, value: object
) -> None:
    assert jsonread.loads(body) == value
    assert check_json_body("detail", 200, "application/json", body) == value


def test_the_detail_check_takes_a_number_no_double_holds_and_the_decoder_names_it() -> None:
    body = b'{"Total": 1e400, "Memo": "x", "Id": ' + b"9" * 400 + b"}"
    jsonread.check(body)  # JSON: not a broken body, not retried
    with pytest.raises(PayloadError, match=r"^Total: number too large \(1E\+400\)$"):
        payload.decode(body)
    assert payload.decode(body.replace(b"1e400", b"1")).total == 1  # Id is not ours: skipped


@pytest.mark.parametrize(
    "body",
    [b'{"a": "caf\xe9"}', b'{"a": "\\ud800"}', b'{"a": 1,}', b'{"a": 01}', b"[1, 2] 3", b""],
)
def test_the_check_refuses_what_orjson_refuses(body: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    with pytest.raises(orjson.JSONDecodeError):
        jsonread.check(body)


def test_the_check_looks_at_large_bodies_a_slice_at_a_time() -> None:
    text = b'{"a": "' + ("é" * jsonread.UTF8_SLICE).encode() + b'"}'  # two slices and more
    jsonread.check(text)  # a character split between two slices is whole
    broken = text[: jsonread.UTF8_SLICE + 3] + b"\xff" + text[jsonread.UTF8_SLICE + 4 :]
    with pytest.raises(orjson.JSONDecodeError):
        jsonread.check(broken)  # a bad byte past the first slice, in a string nobody reads
    deep = b'{"a": ' + b"[" * 1010 + b"]" * 1010 + b"}"  # deeper than msgspec goes: orjson decides
    jsonread.check(deep)
    with pytest.raises(orjson.JSONDecodeError):
        jsonread.check(deep[:-2] + b"}")


@pytest.mark.parametrize("body", [b'{"a": NaN, "b": 1e400}', b'{"a": 1e400', b"1e400 2", b"01"])
def test_what_is_not_json_stays_refused_whatever_numbers_it_holds(body: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        jsonread.loads(body)


def test_retry_is_decided_by_the_error_class_alone() -> None:
    assert is_transient(RateLimited("429", retry_after=1.0))
    assert is_transient(TransientApiError("503", status=503))
    assert not is_transient(PermanentApiError("404", status=404))
    assert not is_transient(AuthError("401", status=401))
