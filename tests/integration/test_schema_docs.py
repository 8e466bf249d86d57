"""docs/schema.md is the schema: it documents exactly the tables, views and columns the migrations
make (names, types, keys, comments), its diagram draws exactly the foreign keys, its API fields
exist in the payload models, and its ten example queries run on a synced warehouse."""

from __future__ import annotations

import asyncio
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.api.payload import Detail, OrderListRow
from syncer.api.values import Object
from syncer.warehouse import schema
from tests.integration.conftest import SimHarness

DOC = Path(__file__).resolve().parents[2] / "docs" / "schema.md"
TYPE_NAMES = {"timestamp with time zone": "timestamptz", "character varying": "varchar"}


@dataclass
class Documented:
    kind: str  # table | view
    comment: str | None = None
    key: list[str] = field(default_factory=list)
    # column -> (type, API field cell or None for views, meaning)
    columns: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse(text: str) -> dict[str, Documented]:
    """The `### \\`name\\`` sections under '## Tables' and '## Views'."""
    out: dict[str, Documented] = {}
    kind: str | None = None
    current: Documented | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            kind = {"## Tables": "table", "## Views": "view"}.get(line.strip())
            current = None
        elif kind and (m := re.fullmatch(r"### `(\w+)`", line.strip())):
            current = out.setdefault(m.group(1), Documented(kind))
        elif current is None:
            continue
        elif line.startswith("> ") and current.comment is None:
            current.comment = line[2:].strip()
        elif line.startswith("**Key:**"):
            current.key = re.findall(r"`(\w+)`", line)
        elif line.startswith("| `"):
            cells = _cells(line)
            name = cells[0].strip("`")
            if kind == "table":
                assert len(cells) == 4, f"{name}: a table's row has 4 cells: {line}"
                current.columns[name] = (cells[1], cells[2], cells[3])
            else:
                assert len(cells) == 3, f"{name}: a view's row has 3 cells: {line}"
                current.columns[name] = (cells[1], None, cells[2])
    return out


def foreign_keys_drawn(text: str) -> set[tuple[str, str]]:
    """(parent, child) for every solid relation line of the Mermaid erDiagram."""
    diagram = text.split("```mermaid", 1)[1].split("```", 1)[0]
    found = re.findall(r"^\s*(\w+)\s+\S{2}(--|\.\.)\S{2}\s+(\w+)\s*:", diagram, re.M)
    return {(parent, child) for parent, line, child in found if line == "--"}


def example_queries(text: str) -> list[tuple[str, str]]:
    section = text.split("## Example queries", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^### (.+?)\n.*?```sql\n(.*?)```", section, re.M | re.S)


async def database_objects(engine: AsyncEngine) -> dict[str, Documented]:
    """The same shape, read from the database: information_schema for names, pg_catalog for
    exact types, comments and keys."""
    out: dict[str, Documented] = {}
    async with engine.connect() as conn:
        for name, table_type in await conn.exec_driver_sql(
            "SELECT table_name, table_type FROM information_schema.tables "
            "WHERE table_schema = 'scansource'"
        ):
            out[name] = Documented("view" if table_type == "VIEW" else "table")
        for name, column, typ, comment, relation_comment in await conn.exec_driver_sql(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), "
            "col_description(c.oid, a.attnum), obj_description(c.oid, 'pg_class') "
            "FROM information_schema.columns i "
            "JOIN pg_class c ON c.relname = i.table_name "
            " AND c.relnamespace = 'scansource'::regnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = i.column_name "
            "WHERE i.table_schema = 'scansource' ORDER BY c.relname, a.attnum"
        ):
            base, _, modifier = typ.partition("(")
            typ = TYPE_NAMES.get(base, base) + (f"({modifier}" if modifier else "")
            out[name].columns[column] = (typ, None, comment)
            out[name].comment = relation_comment
        for name, columns in await conn.exec_driver_sql(
            "SELECT conrelid::regclass::text, array(SELECT a.attname FROM unnest(conkey) "
            "WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = conrelid "
            "AND a.attnum = k.n ORDER BY k.o) FROM pg_constraint "
            "WHERE contype = 'p' AND connamespace = 'scansource'::regnamespace"
        ):
            out[name.removeprefix("scansource.")].key = list(columns)
    return out


async def test_every_table_view_and_column_is_documented_and_nothing_more(
    engine: AsyncEngine,
) -> None:
    documented = parse(DOC.read_text())
    actual = await database_objects(engine)

    assert {n: d.kind for n, d in documented.items()} == {n: d.kind for n, d in actual.items()}
    for name, doc in documented.items():
        undocumented = set(actual[name].columns) - set(doc.columns)
        missing = set(doc.columns) - set(actual[name].columns)
        assert not undocumented, f"{name}: columns not in docs/schema.md: {sorted(undocumented)}"
        assert not missing, f"{name}: documented columns that do not exist: {sorted(missing)}"
        assert list(doc.columns) == list(actual[name].columns), f"{name}: column order differs"


async def test_documented_types_keys_and_comments_are_the_databases(engine: AsyncEngine) -> None:
    documented = parse(DOC.read_text())
    actual = await database_objects(engine)

    for name, doc in documented.items():
        db = actual[name]
        assert doc.comment == db.comment, f"{name}: comment differs from the database's"
        assert doc.key == db.key, f"{name}: documented key {doc.key}, database key {db.key}"
        for column, (typ, _api, meaning) in doc.columns.items():
            db_type, _, db_comment = db.columns[column]
            assert typ == db_type, f"{name}.{column}: documented {typ}, database {db_type}"
            assert meaning == db_comment, (
                f"{name}.{column}: docs say {meaning!r}, the database comment is "
                f"{db_comment!r} (comments come from syncer/warehouse/comments.py and the "
                "migrations)"
            )


def _model_in(annotation: Any) -> type[Object] | None:
    """The payload struct inside an annotation such as `list[Parcel]` or `Address | None`."""
    if isinstance(annotation, type) and issubclass(annotation, Object):
        return annotation
    for arg in typing.get_args(annotation):
        if (found := _model_in(arg)) is not None:
            return found
    return None


def resolves(path: str, root: type[Object]) -> bool:
    model: type[Object] | None = root
    for segment in path.split("."):
        if model is None:
            return False
        alias = segment.removesuffix("[]")
        fields = {f.encode_name: f for f in msgspec.structs.fields(model)}
        if alias not in fields:
            return False
        model = _model_in(typing.get_type_hints(model)[fields[alias].name])
    return True


def test_every_documented_api_field_is_a_field_of_the_payload_models() -> None:
    documented = parse(DOC.read_text())
    checked = 0
    for name, doc in documented.items():
        for column, (_type, api, _meaning) in doc.columns.items():
            for path in re.findall(r"`([^`]+)`", api or ""):
                checked += 1
                assert resolves(path, Detail) or resolves(path, OrderListRow), (
                    f"{name}.{column}: API field {path!r} is not in syncer/api/payload.py"
                )
    assert checked > 80  # every API-fed column names its field


def test_the_schema_maps_every_data_column_to_an_api_field_of_the_payload() -> None:
    """The row builder's mapping (column info) names fields the structs have, and sales_orders'
    columns without one are the order's key and our bookkeeping."""
    mapped = 0
    for table in schema.DATA_TABLES:
        for column in table.columns:
            path = column.info.get("api")
            if path is None or path in (schema.POSITION, schema.ITEM):
                continue
            mapped += 1
            root = OrderListRow if column.info.get("source") == schema.LISTED else Detail
            if table is not schema.sales_orders:
                continue  # a child's fields are checked from its array, below
            assert resolves(path, root), f"{table.name}.{column.name}: {path!r}"
        if table is not schema.sales_orders:
            arrays = []
            t = table
            while t is not schema.sales_orders:
                arrays.insert(0, t.info["api"])
                t = schema.metadata.tables[f"{schema.SCHEMA}.{t.info['parent']}"]
            for column in table.columns:
                path = column.info.get("api")
                if path and path not in (schema.POSITION, schema.ITEM):
                    assert resolves(".".join([*arrays, path]), Detail), (table.name, path)
    unmapped = {c.name for c in schema.sales_orders.columns if "api" not in c.info}
    assert unmapped == {"customer_number", "sales_order_number", *schema.BOOKKEEPING_COLUMNS}
    assert mapped > 70


async def test_the_diagram_draws_every_foreign_key_and_no_other(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        rows = await conn.exec_driver_sql(
            "SELECT confrelid::regclass::text, conrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND connamespace = 'scansource'::regnamespace"
        )
        foreign_keys = {
            (p.removeprefix("scansource."), c.removeprefix("scansource.")) for p, c in rows
        }

    assert foreign_keys_drawn(DOC.read_text()) == foreign_keys


async def test_the_ten_example_queries_run_on_a_synced_warehouse(harness: SimHarness) -> None:
    await asyncio.gather(*(harness.account_sync(c).run() for c in harness.customers))
    examples = example_queries(DOC.read_text())
    assert len(examples) == 10

    async with harness.engine.connect() as conn:
        for title, sql in examples:
            async with conn.begin():
                await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                rows = (await conn.exec_driver_sql(sql)).all()
            # Queries about "now" depend on the day the test runs; the others have answers in
            # the simulator's data (the documented PO, serial and MAC exist there).
            if "now()" not in sql and "current_date" not in sql:
                assert rows, f"example {title!r} found nothing in the simulator's data"
