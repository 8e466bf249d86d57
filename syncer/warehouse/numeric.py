"""Postgres `numeric` for asyncpg, in binary, with the encodings of recent values remembered.

Most numbers a sync writes are the same few values (0, 1, the prices an account buys), so a
value's encoding is found by its text (which tells 1.0 from 1.00: equal Decimals, different
numerics); values not seen lately are encoded from that text, and exponents, NaN and the
infinities the way asyncpg does. Decoding gives the value Postgres holds, with its display scale
(10000, not asyncpg's 1E+4). Why and what it saves: docs/decisions/0003-numeric-codec.md.

`register` installs the codec on a connection (`syncer.warehouse.database` does it for every
connection).
"""

from __future__ import annotations

import struct
from decimal import Decimal
from typing import Any, TypeVar

_HEAD = struct.Struct("!hhHH")  # digits (base 10,000), weight, sign, display scale
_POS, _NEG, _NAN, _PINF, _NINF = 0x0000, 0x4000, 0xC000, 0xD000, 0xF000
_MAX_DSCALE = 0x3FFF

# Bounded: an account's distinct quantities and prices are a few thousand; values seen once
# (order totals) come and go. Emptied when full, which costs one miss per value afterwards.
CACHE_SIZE = 16_384
_encoded: dict[str, bytes] = {}
_decoded: dict[bytes, Decimal] = {}
K = TypeVar("K")
V = TypeVar("V")


def encode(value: Any) -> bytes:
    """A number (a Decimal, or whatever Decimal() takes, as with asyncpg's own codec) →
    numeric's binary form; ValueError for what numeric cannot hold."""
    if type(value) is not Decimal:
        value = Decimal(value)
    text = str(value)
    data = _encoded.get(text)
    if data is None:
        data = remember(_encoded, text, _encode_plain(text) or _encode(value))
    return data


def decode(data: bytes) -> Decimal:
    value = _decoded.get(data)
    return remember(_decoded, data, _decode(data)) if value is None else value


def remember(cache: dict[K, V], key: K, value: V) -> V:
    """Store `value` under `key` in a cache of at most CACHE_SIZE entries (emptied when full)."""
    if len(cache) >= CACHE_SIZE:
        cache.clear()
    cache[key] = value
    return value


def _encode_plain(text: str) -> bytes | None:
    """The common case from its text, `-1234.50`, at half the cost of `_encode`; None for any
    other text (exponents, NaN, the infinities, a long one, whose limits `_encode` checks)."""
    whole, _, fraction = text.removeprefix("-").partition(".")
    if len(text) > 100 or not whole.isdigit() or not (fraction.isdigit() or not fraction):
        return None
    pad = -len(fraction) % 4  # the fraction in whole groups of four digits
    n = int(whole + fraction + "0" * pad)
    if not n:
        return _HEAD.pack(0, 0, _POS, len(fraction))
    weight = -(len(fraction) + pad) // 4 - 1
    while not n % 10_000:  # trailing zero groups are not sent
        n //= 10_000
        weight += 1
    groups: list[int] = []
    while n:
        n, group = divmod(n, 10_000)
        groups.append(group)
    groups.reverse()
    sign = _NEG if text[0] == "-" else _POS
    head = _HEAD.pack(len(groups), weight + len(groups), sign, len(fraction))
    return head + struct.pack(f"!{len(groups)}H", *groups)


def _encode(value: Decimal) -> bytes:
    """asyncpg's numeric_encode_binary (pgproto/codecs/numeric.pyx), in Python."""
    sign, digits, exponent = value.as_tuple()
    if exponent in ("n", "N"):
        return _HEAD.pack(0, 0, _NAN, 0)
    if exponent == "F":
        return _HEAD.pack(0, 0, _NINF if sign else _PINF, 0)
    assert isinstance(exponent, int)
    if exponent < 0 and -exponent > _MAX_DSCALE:
        raise ValueError("cannot encode Decimal value into numeric: exponent is too small")
    n = len(digits)
    dweight = n + exponent - 1  # the power of ten of the first digit
    weight = (dweight + 4) // 4 - 1 if dweight >= 0 else -((-dweight - 1) // 4 + 1)
    if weight > 2**15 - 1:
        raise ValueError("cannot encode Decimal value into numeric: exponent is too large")
    padding = (weight + 1) * 4 - (dweight + 1)  # zeros before the first digit, in its group
    count = (n + padding + 3) // 4
    if count > 2**15 - 1:
        raise ValueError("cannot encode Decimal value into numeric: number of digits is too large")
    padded = (0,) * padding + digits + (0,) * 3
    groups = [
        padded[i] * 1000 + padded[i + 1] * 100 + padded[i + 2] * 10 + padded[i + 3]
        for i in range(0, count * 4, 4)
    ]
    head = _HEAD.pack(count, weight, _NEG if sign else _POS, -exponent if exponent < 0 else 0)
    return head + struct.pack(f"!{count}H", *groups)


def _decode(data: bytes) -> Decimal:
    count, weight, sign, dscale = _HEAD.unpack_from(data)
    if count == 0 and sign in (_POS, _NEG):
        return Decimal(f"0E-{dscale}")
    if sign == _NAN:
        return Decimal("NaN")
    if sign == _PINF:
        return Decimal("Infinity")
    if sign == _NINF:
        return Decimal("-Infinity")
    coefficient = 0
    for group in struct.unpack_from(f"!{count}H", data, _HEAD.size):
        coefficient = coefficient * 10_000 + group
    # The groups are coefficient × 10,000^(weight - count + 1); written with exactly `dscale`
    # decimals. Postgres rounds to the display scale, so digits cut here are zeros.
    shift = 4 * (weight - count + 1) + dscale
    if shift >= 0:
        coefficient *= 10**shift
    else:
        coefficient //= 10**-shift
    return Decimal(f"{'-' if sign == _NEG else ''}{coefficient}E-{dscale}")


async def register(con: Any) -> None:
    """Use this codec for numeric on an asyncpg connection."""
    await con.set_type_codec(
        "numeric", schema="pg_catalog", encoder=encode, decoder=decode, format="binary"
    )
