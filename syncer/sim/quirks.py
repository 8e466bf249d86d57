"""The payload quirks of docs/api.md §10, as pure transforms of a list row or a detail.

Each quirk changes how the data is written, never what it says: an array is nulled or left out
only when it is empty, a date becomes "" only where it is null, an invoice list becomes a string
only when it holds one number. A client that follows the reference reads the same order either
way (tests/unit/test_sim_quirks.py proves it with the real models). The one quirk that changes
data, the long unicode memo, is applied to the order's view, so that truth() shows it too.
"""

from __future__ import annotations

import orjson

from syncer.sim.codes import seed_int

Json = dict[str, object]

_UNIT = float(1 << 64)


def chance(*parts: object) -> float:
    """A number in [0, 1) fixed by `parts` (seed, kind, order...): the same every run."""
    return seed_int(*parts) / _UNIT


def picks(seed: int, order_number: str, rate: float, enabled: frozenset[str]) -> frozenset[str]:
    """The quirks this order's payloads show: each enabled quirk with probability `rate`."""
    if rate <= 0:
        return frozenset()
    return frozenset(q for q in enabled if chance(seed, "quirk", q, order_number) < rate)


def apply(payload: Json, chosen: frozenset[str]) -> Json:
    """One list row or detail with the chosen quirks (a new dict; `payload` is left alone)."""
    out = _walk(payload, chosen)
    assert isinstance(out, dict)
    invoices = out.get("InvoiceNumbers")
    if "invoice_string" in chosen and isinstance(invoices, list) and len(invoices) == 1:
        out["InvoiceNumbers"] = invoices[0]
    if "invoice_misspelt" in chosen and "InvoiceNumbers" in out:
        out["InvoiceNmbers"] = out.pop("InvoiceNumbers")
    return out


def _walk(value: object, chosen: frozenset[str]) -> object:
    if isinstance(value, dict):
        out: Json = {}
        for key, item in value.items():
            if item == [] and "missing_arrays" in chosen:
                continue
            if item == [] and "null_arrays" in chosen:
                out[key] = None
            elif item is None and key.endswith("Date") and "empty_dates" in chosen:
                out[key] = ""
            else:
                out[key] = _walk(item, chosen)
        return out
    if isinstance(value, list):
        return [_walk(v, chosen) for v in value]
    if type(value) is int and "float_ints" in chosen:  # not bool: True is an int too
        return float(value)
    return value


def dumps(payload: object, ascii_escapes: bool) -> bytes:
    """JSON bytes; with `ascii_escapes`, every non-ASCII character as a \\uXXXX escape."""
    body = orjson.dumps(payload)
    if not ascii_escapes:
        return body
    text = body.decode()
    return "".join(c if ord(c) < 128 else _escape(c) for c in text).encode()


def _escape(c: str) -> str:
    code = ord(c)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # astral characters (emoji) as a UTF-16 surrogate pair, as .NET writes them
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


# Long memos mix scripts, combining marks, right-to-left text, emoji with joiners and
# characters outside the BMP: what a memo field typed in many countries ends up holding.
_FRAGMENTS = (
    "Lieferung bitte nur werktags – Tor 3, Rampe Süd; Ansprechpartner: Jürgen Groß. ",
    "Livraison à l'entrepôt n° 2, côté quai ; prévenir Mme Lefèvre avant 8 h. ",
    "納品は金曜日までにお願いします。検品担当：山田（内線 204）。 ",
    "请在周五前发货，并在每个箱子上标注门店编号。 ",
    "배송 전에 연락 부탁드립니다. 창고 B동 2층. ",
    "التسليم إلى المستودع الرئيسي، البوابة ٣. ",
    "משלוח למחסן הראשי, שער 3. ",
    "Доставка на склад № 5, пандус 2; звонить заранее. ",
    "Παράδοση στην αποθήκη, ράμπα 4. ",
    "ส่งของที่คลังสินค้า ประตู 3 ",
    "Zoë's café — naïve façade, crème brûlée (e\u0301 combining) ",
    "🚚📦✅ handle with care 👩‍💻👨‍👩‍👧‍👦 🇺🇸🇩🇪 ",
    "𝓣𝓱𝓪𝓷𝓴 𝔂𝓸𝓾 — 𠜎𠜱𠝹 (beyond the BMP) ",
    "\u200bzero\u200dwidth\u2060joiners\u00a0and\u202fnarrow\u00a0spaces ",
)


def long_memo(seed: int, order_number: str, length: int = 4000) -> str:
    """A memo of about `length` characters, fixed per order."""
    start = seed_int(seed, "memo", order_number) % len(_FRAGMENTS)
    parts: list[str] = [f"[{order_number}] "]
    size = len(parts[0])
    i = start
    while size < length:
        fragment = _FRAGMENTS[i % len(_FRAGMENTS)]
        parts.append(fragment)
        size += len(fragment)
        i += 1
    return "".join(parts).rstrip()
