"""JSON as the syncer reads it: orjson, and the standard library for numbers orjson cannot hold.

orjson refuses a number past a double's range (`1e400`, an integer of 400 digits) as if the body
were not JSON; JSON allows any number. Such a body is read again by the standard library, the
numbers a double cannot hold left as their text: the readers then say which field holds a number
too large, and the order is recorded with that reason instead of being fetched again and again.
`check` tells JSON from not-JSON as `loads` does, without building the value.
"""

from __future__ import annotations

import codecs
import json
import math
from typing import Any

import msgspec
import orjson

MAX_INT_DIGITS = 100  # longer integers stay text: nothing we store holds them anyway
UTF8_SLICE = 1 << 20  # a large body is checked this much at a time, not copied whole as text


class _Skipped(msgspec.Struct):
    """An object whose every value is skipped: reading it checks the syntax and builds nothing."""


_SKIP = msgspec.json.Decoder(_Skipped)


def check(body: bytes) -> None:
    """orjson.JSONDecodeError unless `body` is JSON, as `loads` would read it, without building
    its value: what is read afterwards (`syncer.api.payload`) reads it its own way."""
    try:
        _SKIP.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        loads(body)  # not an object, or not for msgspec (too deep): the full reading decides
        return
    if not _utf8(body):  # msgspec does not check the text of what it skips; orjson does
        raise orjson.JSONDecodeError("body is not UTF-8", "", 0)


def _utf8(body: bytes) -> bool:
    if body.isascii():
        return True
    try:
        if len(body) <= UTF8_SLICE:
            body.decode()
        else:
            decode = codecs.getincrementaldecoder("utf-8")().decode
            with memoryview(body) as view:
                for start in range(0, len(body), UTF8_SLICE):
                    decode(view[start : start + UTF8_SLICE])
                decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


def loads(body: bytes | str) -> Any:
    """The JSON value of `body`; orjson.JSONDecodeError when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "number" not in str(exc):  # orjson names what it refused; only numbers get a 2nd look
            raise
        try:
            return json.loads(body, parse_float=_float, parse_int=_int, parse_constant=_refuse)
        except ValueError:  # not JSON after all (json.JSONDecodeError, UnicodeDecodeError)
            raise exc from None


def _float(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text


def _int(text: str) -> int | str:
    return int(text) if len(text.lstrip("-")) <= MAX_INT_DIGITS else text


def _refuse(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")
