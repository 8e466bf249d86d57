"""The catalogue's sellable items: each product family in a few variants, with prices, weights
and serialisation; and finding an item by ScanSource item number or manufacturer part.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncer.sim.catalog import PRODUCTS, VARIANTS


@dataclass(frozen=True, slots=True)
class Item:
    item_number: str
    mfr_code: str
    mfr_part: str
    description: str
    cat_code: str
    cat_desc: str
    matl_code: str
    matl_desc: str
    price_usd_cents: int
    weight_lb: float
    serialised: bool
    oui: str | None
    serial_prefix: str


def build_items() -> tuple[Item, ...]:
    items = []
    for p in PRODUCTS:
        for suffix, label, factor in VARIANTS:
            part = p.mfr_part + suffix
            # 20 characters at most, keeping the variant's suffix so that numbers stay unique.
            tail = suffix.replace("-", "")
            base = f"{p.mfr_code}-{p.mfr_part.replace('-', '')}"
            items.append(
                Item(
                    item_number=base[: 20 - len(tail)] + tail,
                    mfr_code=p.mfr_code,
                    mfr_part=part,
                    description=p.description + label,
                    cat_code="ZSER" if p.serialised else "ZTAN",
                    cat_desc="Serialized Item" if p.serialised else "Standard Item",
                    matl_code=p.matl_grp[0],
                    matl_desc=p.matl_grp[1],
                    price_usd_cents=round(p.price_usd * factor * 100),
                    weight_lb=p.weight_lb,
                    serialised=p.serialised,
                    oui=p.oui,
                    serial_prefix=p.serial_prefix,
                )
            )
    return tuple(items)


class ItemIndex:
    """Finds catalogue items by ScanSource item number or manufacturer part, ignoring case."""

    def __init__(self, items: tuple[Item, ...]) -> None:
        self.items = items
        self._by_item = {it.item_number.casefold(): it for it in items}
        self._by_part = {it.mfr_part.casefold(): it for it in items}

    def find(self, part: str, part_type: int | None = None) -> Item | None:
        """`part_type` as in POLineAsync: 1 ScanSource item, 2 manufacturer part, else either."""
        key = part.strip().casefold()
        if part_type == 1:
            return self._by_item.get(key)
        if part_type == 2:
            return self._by_part.get(key)
        return self._by_item.get(key) or self._by_part.get(key)
