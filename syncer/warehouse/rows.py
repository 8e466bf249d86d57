"""Pure: a decoded detail (syncer.api.payload) → one tuple per warehouse row, in each table's
column order, by the API fields the schema gives each column (`syncer.warehouse.schema.api`).

Tuples (not dicts) because they go straight into COPY. Structural problems a database constraint
would reject later (duplicate or missing line numbers, negative quantities) are caught here,
with a reason a person can act on.
"""

from __future__ import annotations

import hashlib
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter, itemgetter
from typing import Any

import msgspec
from sqlalchemy import Table

from syncer.api.payload import Detail, OrderListRow
from syncer.api.values import Object, UnreadableDate
from syncer.errors import PayloadError
from syncer.warehouse import schema

Row = tuple[Any, ...]

# sales_orders columns we write; first_seen_at and synced_at are set by the database.
HEADER_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in schema.sales_orders.columns if c.name not in ("first_seen_at", "synced_at")
)
CHILD_COLUMNS: dict[str, tuple[str, ...]] = {  # plain str keys: they reach JSON (orjson)
    str(t.name): tuple(c.name for c in t.columns) for t in schema.CHILD_TABLES
}


@dataclass(frozen=True, slots=True)
class OrderRows:
    customer_number: str
    sales_order_number: str
    status: str | None
    content_hash: str
    header: Row
    children: dict[str, list[Row]]
    # Dates stored as NULL because their text was in no form we know (the run counts them).
    unreadable_dates: tuple[UnreadableDate, ...] = ()

    def row_count(self) -> int:
        return 1 + sum(len(rows) for rows in self.children.values())

    def rows_by_table(self) -> list[tuple[str, int]]:
        """The rows of `row_count`, by table: the header's, then each child table's."""
        return [("sales_orders", 1), *((t, len(rows)) for t, rows in self.children.items())]


def content_hash(raw: bytes) -> str:
    """Hash of the detail exactly as received: equal bytes, nothing to write."""
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def unique(values: Sequence[str]) -> Sequence[str]:
    return values if len(values) < 2 else list(dict.fromkeys(values))


def stored_raw(raw: bytes) -> str:
    """The detail as sales_orders.raw keeps it: text, without the NULs Postgres cannot hold."""
    return raw.decode("utf-8", errors="replace").replace("\\u0000", "")


def unusable(
    listed: OrderListRow, sales_order_number: str | None, status: str | None, lines: int
) -> str | None:
    """Why a detail is not a usable order, or None when it is.

    A usable detail names the order asked for (its SalesOrderNumber is the listed OrderNumber),
    has a Status (every order has one, docs/api.md §8), and has lines whenever the list row
    shows the order with lines. Nothing else is required: a null or missing array is an empty
    one (§10), and an order may have no deliveries, invoices or tracking numbers yet. What fails
    this (`{}`, a detail holding only its number, one whose header or lines are gone) is not
    loaded over the order held: the order is recorded as failed and fetched again next run.
    """
    order_no = listed.order_number
    if sales_order_number and sales_order_number != order_no:
        shown = repr(sales_order_number[:40]) + ("…" if len(sales_order_number) > 40 else "")
        return f"not a usable order: the detail is for order {shown}, not {order_no!r}"
    missing = []
    if not sales_order_number:
        missing.append("SalesOrderNumber")
    if not (status and status.strip()):
        missing.append("Status")
    if not lines and listed.line_count:
        missing.append(f"SalesOrderLines (the list shows {listed.line_count})")
    return f"not a usable order: the detail has no {', no '.join(missing)}" if missing else None


# -- the mapping, compiled once from the schema ---------------------------------------------------


def _fields(cls: type[Object]) -> dict[str, tuple[str, Any]]:
    """API name → (attribute, type) of a payload struct's fields."""
    hints = typing.get_type_hints(cls)
    return {f.encode_name: (f.name, hints[f.name]) for f in msgspec.structs.fields(cls)}


def _item_type(hint: Any) -> Any:
    """The struct in `list[Line]` or `Address | None`; str for an array of strings."""
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0]
    for arg in typing.get_args(hint) or (hint,):
        if isinstance(arg, type) and issubclass(arg, Object):
            return arg
    raise TypeError(f"{hint} holds no payload object")


def _attribute_path(cls: type[Object], path: str) -> list[str]:
    """`BillingAddress.Name` → ["billing_address", "name"], checked against the structs."""
    out = []
    for i, segment in enumerate(segments := path.split(".")):
        fields = _fields(cls)
        if segment not in fields:
            raise TypeError(f"{path}: {segment} is not a field of {cls.__name__}")
        name, hint = fields[segment]
        out.append(name)
        if i < len(segments) - 1:
            cls = _item_type(hint)
    return out


@dataclass(frozen=True)
class _Spec:
    """How one child table's rows come from its parent's objects."""

    table: str
    array: Callable[[Any], Sequence[Any]]  # the parent object → the items
    where: str  # the array's API name, for reasons
    values: Callable[[Any], Row]  # an item → its columns after the parent's key (and POSITION)
    key_name: str | None  # the item's own key, first of `values`: present and unique
    quantities: Callable[[Any], Row] | None  # an item → its quantities (never negative)
    quantity_names: tuple[str, ...]
    strings: tuple[tuple[str, Callable[[Any], Sequence[str]]], ...]  # ITEM tables of an item
    children: tuple[_Spec, ...]  # tables of objects of an item


def _tuple_getter(names: Sequence[str]) -> Callable[[Any], Row]:
    """attrgetter that always gives a tuple (it gives the value itself for one name)."""
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda o: (get(o),)
    return attrgetter(*names)


def _children(table: Table | None, cls: type[Object]) -> tuple[list[_Spec], list[Any]]:
    """The object tables and the string tables whose rows come from `cls` (a row of `table`)."""
    parent = table.name if table is not None else schema.sales_orders.name
    specs, strings = [], []
    for t in schema.CHILD_TABLES:
        if t.info["parent"] != parent:
            continue
        array_name, hint = _fields(cls)[t.info["api"]]
        if _item_type(hint) is str:
            assert [c.info.get("api") for c in _own(t)] == [schema.ITEM], t.name
            strings.append((t.name, attrgetter(array_name)))
        else:
            specs.append(_spec(t, array_name, _item_type(hint)))
    return specs, strings


def _own(table: Table) -> list[Any]:
    """The table's columns after its parent's key."""
    parent = schema.metadata.tables[f"{schema.SCHEMA}.{table.info['parent']}"]
    return list(table.columns)[len(parent.primary_key.columns) :]


def _spec(table: Table, array_name: str, item: type[Object]) -> _Spec:
    own = _own(table)
    position = own[0].info.get("api") == schema.POSITION
    if position:
        own = own[1:]
    paths = [c.info["api"] for c in own]
    names = [".".join(_attribute_path(item, p)) for p in paths]
    quantities = [(n, c.info["api"]) for n, c in zip(names, own, strict=True)
                  if c.info.get("quantity")]  # fmt: skip
    specs, strings = _children(table, item)
    return _Spec(
        str(table.name), attrgetter(array_name), table.info["api"], _tuple_getter(names),
        None if position else paths[0],
        _tuple_getter([n for n, _ in quantities]) if quantities else None,
        tuple(api for _, api in quantities), tuple(strings), tuple(specs),
    )  # fmt: skip


_SPECS, _STRINGS = _children(None, Detail)

# sales_orders' columns: from the detail (flat fields with one getter, the fields of an object
# such as BillingAddress with one each), from the list row, or ours (named in build_rows).
_OURS = ("customer_number", "sales_order_number", "content_hash", "raw", "detail_fetched_at")
_from_detail = [c for c in schema.sales_orders.columns
                if "api" in c.info and c.info.get("source") != schema.LISTED]  # fmt: skip
_from_list = [c for c in schema.sales_orders.columns if c.info.get("source") == schema.LISTED]
_FLAT = [c for c in _from_detail if "." not in c.info["api"]]
_OBJECTS: dict[str, list[Any]] = {}
for _c in _from_detail:
    if "." in _c.info["api"]:
        _OBJECTS.setdefault(_c.info["api"].split(".", 1)[0], []).append(_c)
_HEADER_PARTS = (
    _tuple_getter([".".join(_attribute_path(Detail, c.info["api"])) for c in _FLAT]),
    tuple(
        (attrgetter(_attribute_path(Detail, name)[0]),
         _tuple_getter([".".join(_attribute_path(Detail, c.info["api"])[1:]) for c in cols]),
         (None,) * len(cols))
        for name, cols in _OBJECTS.items()
    ),
    _tuple_getter([".".join(_attribute_path(OrderListRow, c.info["api"])) for c in _from_list]),
)  # fmt: skip
# The order the parts come in (ours, flat, each object's, the list row's) → the columns' order.
_PARTS_ORDER = [*_OURS, *(c.name for c in _FLAT),
                *(c.name for cols in _OBJECTS.values() for c in cols),
                *(c.name for c in _from_list)]  # fmt: skip
assert sorted(_PARTS_ORDER) == sorted(HEADER_COLUMNS), "every header column has one source"
_HEADER = itemgetter(*(_PARTS_ORDER.index(c) for c in HEADER_COLUMNS))


def _header(ours: Row, detail: Detail, listed: OrderListRow) -> Row:
    flat, objects, from_list = _HEADER_PARTS
    values = [*ours, *flat(detail)]
    for get_object, get_fields, empty in objects:
        o = get_object(detail)
        values.extend(empty if o is None else get_fields(o))
    values.extend(from_list(listed))
    return _HEADER(values)  # type: ignore[no-any-return]


def build_rows(
    customer_number: str,
    listed: OrderListRow,
    detail: Detail,
    raw: bytes,
    fetched_at: datetime,
) -> OrderRows:
    """The rows of one order: its detail (`syncer.api.payload.decode(raw)`) as the schema maps
    it; PayloadError when the detail is no usable order or its rows would break a key."""
    order_no = listed.order_number
    if not order_no:
        raise PayloadError("order has no number")
    reason = unusable(listed, detail.sales_order_number, detail.status, len(detail.lines))
    if reason is not None:
        raise PayloadError(reason)
    key = (customer_number, order_no)
    digest = content_hash(raw)
    ours = (customer_number, order_no, digest, stored_raw(raw), fetched_at)
    header = _header(ours, detail, listed)
    children: dict[str, list[Row]] = {name: [] for name in CHILD_COLUMNS}
    for table, get in _STRINGS:
        children[table].extend([(*key, v) for v in unique(get(detail))])
    for spec in _SPECS:
        if items := spec.array(detail):
            _rows(spec, key, items, (spec.where,), children)
    return OrderRows(
        customer_number, order_no, detail.status, digest, header, children,
        detail.unreadable_dates,
    )  # fmt: skip


def _rows(
    spec: _Spec,
    key: Row,
    items: Sequence[Any],
    path: tuple[str | int, ...],
    out: dict[str, list[Row]],
) -> None:
    """The rows of `spec`'s table (and its children's) from `items`; `path`: the array's, for
    reasons (`Deliveries.0.LineItems`)."""
    rows = out[spec.table]
    values, key_name, quantities = spec.values, spec.key_name, spec.quantities
    strings, children = spec.strings, spec.children
    if key_name is None and quantities is None and not strings and not children:
        # Rows numbered by position with nothing below them (parcels, units): one pass, in C.
        rows.extend([(*key, i, *values(item)) for i, item in enumerate(items, start=1)])
        return
    seen: set[Any] = set()
    for i, item in enumerate(items):
        got = values(item)
        if key_name is not None:
            own = got[0]
            if own is None or own == "":
                raise PayloadError(f"{_where(path, i)}: no {key_name}")
            if own in seen:
                raise PayloadError(f"{_where(path, i)}: duplicate {key_name} {own}")
            seen.add(own)
            item_key: Row = (*key, own)
            rows.append((*key, *got))
        else:
            item_key = (*key, i + 1)
            rows.append((*item_key, *got))
        # Zeros and nulls dropped (falsy), the least of the rest: one look, in C, per item.
        if quantities is not None and min(filter(None, quantities(item)), default=0) < 0:
            for v, name in zip(quantities(item), spec.quantity_names, strict=True):
                if v is not None and v < 0:
                    raise PayloadError(f"{_where(path, i)}: {name} is negative ({v})")
        for table, get in strings:
            if listed := get(item):
                out[table].extend([(*item_key, v) for v in unique(listed)])
        for child in children:
            if child_items := child.array(item):
                _rows(child, item_key, child_items, (*path, i, child.where), out)


def _where(path: tuple[str | int, ...], i: int) -> str:
    return ".".join(str(p) for p in (*path, i))
