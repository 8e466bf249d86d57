"""Reading a payload by its fields' rules, and checking the numbers of a canonical reading.

`read` builds a struct of syncer.api.payload (or of the operations' answers) from any JSON
object, field by field, each by the `Rule` of its kind (syncer.api.values): a reading that
names the field's path in what it refuses (`SalesOrderLines.3.Ordered: not a number: 'abc'`)
and lists the dates it could not read. The plan of each struct is made once, from its
annotations. `bounds_check` tells whether a struct msgspec read canonically holds only numbers
the rules would leave as they are, so that such a body need not take the rules at all.
Quirks: docs/api.md §10; why: docs/decisions/0012-msgspec-single-detail-decoder.md.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, InvalidOperation, localcontext
from functools import cache
from operator import attrgetter
from typing import Any, TypeVar

import msgspec
from msgspec import UNSET

from syncer.api.values import (
    MAX_DECIMALS,
    MISSPELT,
    NUMBER_BOUND,
    Num,
    Object,
    Rule,
    UnreadableDate,
    kind_of,
)
from syncer.errors import PayloadError

# -- reading by the rules -------------------------------------------------------------------------

_MISSPELLINGS = frozenset(MISSPELT.values())

S = TypeVar("S", bound=Object)
Reader = Callable[[Any, "Reading"], Any]


class _Refused(Exception):
    def __init__(self, path: tuple[str | int, ...], reason: str) -> None:
        super().__init__(reason)
        self.path, self.reason = path, reason

    def describe(self) -> str:
        where = ".".join(str(p) for p in self.path)
        return f"{where}: {self.reason}" if where else self.reason


class Reading:
    """The state of one tolerant read: where it is, and the unreadable dates seen."""

    __slots__ = ("path", "unreadable")

    def __init__(self) -> None:
        self.path: list[str | int] = []
        self.unreadable: list[UnreadableDate] = []


def read(cls: type[S], payload: dict[str, Any], reading: Reading | None = None) -> S:
    """`payload` (a JSON object) as `cls`, each field by its rule; PayloadError naming the
    field's path and the reason."""
    try:
        return _object(cls, payload, reading or Reading())
    except _Refused as exc:
        raise PayloadError(exc.describe()) from None


def _object(cls: type[S], payload: dict[str, Any], reading: Reading) -> S:
    values: dict[str, Any] = {}
    path = reading.path
    for api, name, reader in _plan(cls):
        if api in payload:
            value = payload[api]
        elif (other := MISSPELT.get(api)) in payload:
            value = payload[other]
        else:
            continue
        path.append(api)
        try:
            values[name] = reader(value, reading)
        except ValueError as exc:
            raise _Refused(tuple(path), str(exc)) from None
        path.pop()
    return cls(**values)


@cache
def _plan(cls: type[Object]) -> list[tuple[str, str, Reader]]:
    """(API name, attribute, reader) of each field of `cls`, from its annotations."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return [
        (f.encode_name, f.name, _reader(f.name, hints[f.name]))
        for f in msgspec.structs.fields(cls)
        if f.encode_name not in _MISSPELLINGS
    ]


def _reader(name: str, hint: Any) -> Reader:
    rule = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Rule)), None)
    if rule is not None:
        if rule.date:
            return _dated(name, rule.read)
        read_value = rule.read
        return lambda v, _: read_value(v)
    args = typing.get_args(hint)
    if typing.get_origin(hint) is list and _is_object(args[0]):
        return _array_of(args[0])
    objects = [a for a in args if _is_object(a)]
    if _is_object(hint) or objects:
        return _one(hint if _is_object(hint) else objects[0])
    raise TypeError(f"field {name}: {hint} is no kind of syncer.api.values")


def _is_object(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, Object)


def _dated(name: str, read_value: Callable[[Any], Any]) -> Reader:
    def reader(v: Any, reading: Reading) -> Any:
        value = read_value(v)
        if value is None and isinstance(v, str) and v.strip():
            reading.unreadable.append((name, v))
        return value

    return reader


def _one(cls: type[Object]) -> Reader:
    def reader(v: Any, reading: Reading) -> Any:
        if v is None:
            return None
        if not isinstance(v, dict):
            raise ValueError(f"expected an object, got {kind_of(v)}")
        return _object(cls, v, reading)

    return reader


def _array_of(cls: type[Object]) -> Reader:
    def reader(v: Any, reading: Reading) -> Any:
        if v is None:
            return []
        if not isinstance(v, list):
            raise ValueError(f"expected an array, got {kind_of(v)}")
        out = []
        path = reading.path
        for i, item in enumerate(v):
            path.append(i)
            if not isinstance(item, dict):
                raise ValueError(f"expected an object, got {kind_of(item)}")
            out.append(_object(cls, item, reading))
            path.pop()
        return out

    return reader


# -- numbers read canonically: within bounds? ------------------------------------------------

_LOW, _HIGH = Decimal(-NUMBER_BOUND), Decimal(NUMBER_BOUND)
_NAN = Decimal("NaN")
# Exact sums, whatever the digits; NaN gives NaN rather than an error.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])


def bounds_check(cls: type[S]) -> Callable[[S], bool]:
    """The check of a canonically read `cls`: whether each of its numbers is already what
    `bounded` (syncer.api.values) makes of it, and no misspelt key was read.

    One sum of their sizes, exactly, tells: it is finite, under NUMBER_BOUND, and has as many
    decimals as the number with most. (A sum past the bound with every number within it sends
    the detail to the rules, which find nothing wrong: slower, and as rare as such an order.)"""
    collect = _collector(cls)
    if collect is None:
        raise TypeError(f"{cls.__name__} holds no number to check")

    def within_bounds(obj: S) -> bool:
        numbers: list[Decimal | None] = []
        collect(obj, numbers)
        with localcontext(_EXACT):
            total = sum(map(Decimal.copy_abs, filter(None, numbers)), Decimal())
        return _fits(total)

    return within_bounds


def _fits(v: Decimal) -> bool:
    try:
        if not _LOW < v < _HIGH:
            return False
    except InvalidOperation:  # NaN
        return False
    text = str(v)  # a look at the text costs a tenth of `as_tuple`
    if "E" in text:  # an exponent: the rules decide (the same value, or rounded)
        return False
    dot = text.find(".")
    return dot < 0 or len(text) - dot - 1 <= MAX_DECIMALS


Collector = Callable[[Any, list[Any]], None]


@cache
def _collector(cls: type[Object]) -> Collector | None:
    """Appends the numbers (`Num`) of a `cls` and of the objects in its arrays to a list; None
    for a struct that holds none."""
    hints = typing.get_type_hints(cls, include_extras=True)
    names = [n for n, h in hints.items() if h == Num]
    misspellings = [f.name for f in msgspec.structs.fields(cls) if f.encode_name in _MISSPELLINGS]
    spelt = attrgetter(*misspellings, *misspellings[:1]) if misspellings else None
    numbers = attrgetter(*names, *names[:1]) if names else None  # a tuple, even for one
    arrays = [
        (attrgetter(n), inner) for n, h in hints.items()
        if typing.get_origin(h) is list and _is_object(a := typing.get_args(h)[0])
        and (inner := _collector(a)) is not None
    ]  # fmt: skip
    if numbers is None and spelt is None and not arrays:
        return None

    def collect(obj: Any, out: list[Any]) -> None:
        if numbers is not None:
            out.extend(numbers(obj))
        if spelt is not None and any(v is not UNSET for v in spelt(obj)):
            out.append(_NAN)  # not canonical: the sum is NaN, the body takes the rules
        for get_items, inner in arrays:
            for item in get_items(obj):
                inner(item, out)

    return collect
