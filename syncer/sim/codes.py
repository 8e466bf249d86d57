"""Identifiers that look real and never collide: order, delivery, invoice, carton, serial,
tracking and MAC numbers, all pure functions of a dense global order id (`gid`).

Uniqueness comes from arithmetic on `gid`, not from a registry, so an order's plan can be
regenerated on demand without remembering what was handed out.
"""

from __future__ import annotations

import hashlib

_M48 = (1 << 48) - 1
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UPS_SERVICE = {"GROUND": "03", "2DAY": "02", "NEXTDAY": "01"}

Mac = tuple[str, str]  # (formatted, unformatted)


def seed_int(*parts: object) -> int:
    """A stable 64-bit seed (unlike hash(), it does not change between processes)."""
    text = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def perm48(x: int) -> int:
    """A bijection on 48-bit integers that scrambles neighbours (xorshift-multiply)."""
    x = (x ^ 0x2545F4914F6C) & _M48  # so that id 0 does not map to 0 (all-zero numbers)
    x ^= x >> 24
    x = (x * 0x9E3779B97F4B) & _M48
    x ^= x >> 21
    x = (x * 0xBF58476D1CE5) & _M48
    return x ^ (x >> 24)


def order_number(gid: int, jitter: int) -> str:
    """10 digits, increasing with gid; the jitter (0-6) leaves gaps as real numbering does."""
    return str(7_000_000_000 + gid * 7 + jitter)


def delivery_number(gid: int, delivery: int) -> str:
    return str(8_000_000_000 + gid * 4 + delivery)


def invoice_number(gid: int, delivery: int) -> str:
    return str(9_000_000_000 + gid * 4 + delivery)


def invoice_owner(number: str) -> tuple[int, int] | None:
    """(gid, delivery) of an invoice number made by `invoice_number`; None for any other text."""
    n = int(number) - 9_000_000_000 if number.isdigit() else -1
    return divmod(n, 4) if n >= 0 else None


def carton_number(gid: int, delivery: int, parcel: int) -> str:
    """An SSCC-18 with its `00` application identifier and GS1 check digit."""
    body = f"00614141{(gid * 32 + delivery * 8 + parcel) % 10**9:09d}"
    total = 3 * sum(map(int, body[0::2])) + sum(map(int, body[1::2]))
    return f"00{body}{(10 - total % 10) % 10}"


def unit_numbers(prefix: str, oui: str | None, gid: int, unit: int) -> tuple[str, Mac | None]:
    """A unit's serial number and, for an item with an OUI, its MAC address (formatted
    `AA:BB:CC:DD:EE:FF`, unformatted `AABBCCDDEEFF`): both from one scrambled number. Unique
    while gid < 2**28 and an order has fewer than 2**20 units."""
    n = perm48((gid << 20) | unit)
    if not oui:
        return f"{prefix}{n:012X}", None
    tail = f"{n & 0xFFFFFF:06X}"
    formatted = f"{oui}:{tail[0:2]}:{tail[2:4]}:{tail[4:6]}"
    return f"{prefix}{n:012X}", (formatted, formatted.replace(":", ""))


def tracking_number(carrier: str, service: str, gid: int, delivery: int, parcel: int) -> str:
    """A number in the carrier's usual shape (UPS `1Z…`, USPS `9400…`, Royal Mail `…GB`)."""
    n = perm48((gid << 8) | (delivery << 4) | parcel)
    if carrier == "UPS":
        return f"1ZE27V93{_UPS_SERVICE.get(service, '03')}{n % 10**8:08d}"
    if carrier == "USPS":
        return f"94001{n % 10**14:014d}{(n >> 20) % 1000:03d}"
    if carrier == "FEDEX":
        return f"{n % 10**12:012d}"
    if carrier == "DHL":
        return f"{n % 10**10:010d}"
    if carrier == "PUROLATOR":
        return f"329{n % 10**9:09d}"
    if carrier == "ROYALMAIL":
        return f"{_B36[10 + n % 26]}{_B36[10 + (n >> 5) % 26]}{(n >> 10) % 10**9:09d}GB"
    if carrier == "DPD":
        return f"{n % 10**14:014d}"
    return f"{n % 10**9:09d}"  # LTL PRO number
