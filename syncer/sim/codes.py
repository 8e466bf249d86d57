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


def _gs1(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


_SSCC_PREFIX = _gs1("00614141", (3, 1) * 4)  # SSCC digits 1-8: extension 0, company prefix
_GS1_313 = tuple(_gs1(f"{n:03d}", (3, 1, 3)) for n in range(1000))
_GS1_131 = tuple(_gs1(f"{n:03d}", (1, 3, 1)) for n in range(1000))


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
    serial = (gid * 32 + delivery * 8 + parcel) % 10**9
    # GS1 weights 3 and 1 from the left of the 17 digits: the prefix's sum is a constant, and the
    # serial's 9 digits (weights 3, 1, 3, ...) are summed three at a time from a table.
    high, rest = divmod(serial, 10**6)
    middle, low = divmod(rest, 1000)
    total = _SSCC_PREFIX + _GS1_313[high] + _GS1_131[middle] + _GS1_313[low]
    return f"0000614141{serial:09d}{(10 - total % 10) % 10}"


def unit_numbers(
    prefix: str, oui: str | None, gid: int, first: int, count: int
) -> list[tuple[str, Mac | None]]:
    """The serial number of each unit from `first` to `first + count - 1` of an order and, for
    an item with an OUI, its MAC address (formatted `AA:BB:CC:DD:EE:FF`, unformatted
    `AABBCCDDEEFF`): both from one scrambled number. Unique while gid < 2**28 and an order has
    fewer than 2**20 units. A run of units at a time: an order ships about twenty, and a plan is
    built for every order listed."""
    base = gid << 20
    serials = [f"{prefix}{perm48(base | u):012X}" for u in range(first, first + count)]
    if not oui:
        return [(serial, None) for serial in serials]
    flat = oui.replace(":", "")
    # The number's low 24 bits, in hex, are the serial's last six characters.
    return [
        (serial, (f"{oui}:{serial[-6:-4]}:{serial[-4:-2]}:{serial[-2:]}", f"{flat}{serial[-6:]}"))
        for serial in serials
    ]


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
