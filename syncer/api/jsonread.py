"""JSON as the syncer reads it: orjson, and the standard library for numbers orjson cannot hold.

orjson refuses a number past a double's range (`1e400`, an integer of 400 digits) as if the body
were not JSON; JSON allows any number. Such a body is read again by the standard library, the
numbers a double cannot hold left as their text: the models then say which field holds a number
too large, and the order is recorded with that reason instead of being fetched again and again.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

MAX_INT_DIGITS = 100  # longer integers stay text: nothing we store holds them anyway


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
