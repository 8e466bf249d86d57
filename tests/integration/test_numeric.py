"""syncer.warehouse.numeric writes exactly what asyncpg's own numeric codec writes, and reads
back what Postgres holds, on a real server: compared value by value, through COPY and through
parameters."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from syncer.warehouse import numeric
from tests.conftest import _plain

# What a warehouse sees (quantities, prices, weights), and what numeric can hold at its edges:
# large and tiny exponents, many digits, zeros of every scale, NaN and the infinities.
NUMBERS = st.one_of(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, min_value=-(10**9), max_value=10**9
    ),
    st.integers(min_value=-(10**30), max_value=10**30).map(Decimal),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda digits, exponent, sign: Decimal((sign, digits, exponent)),
        st.lists(st.integers(0, 9), min_size=1, max_size=60).map(tuple),
        st.integers(-200, 200),
        st.integers(0, 1),
    ),
)


async def _both_ways(url: str, values: list[Decimal]) -> None:
    ours = await asyncpg.connect(url)
    theirs = await asyncpg.connect(url)  # asyncpg's own codec
    try:
        await numeric.register(ours)
        for con in (ours, theirs):
            await con.execute("CREATE TEMP TABLE n (i int, v numeric)")
            await con.copy_records_to_table("n", records=list(enumerate(values)))
        sql = "SELECT v::text, v FROM n ORDER BY i"
        written_by_us, written_by_them = await ours.fetch(sql), await theirs.fetch(sql)
        assert [r[0] for r in written_by_us] == [r[0] for r in written_by_them]
        for (pg_text, read), value in zip(written_by_us, written_by_them, strict=True):
            expected = Decimal(pg_text)
            if expected.is_nan():
                assert read.is_nan()
                continue
            # The same number, with the scale Postgres shows (asyncpg's decoder agrees on the
            # value; it writes a whole number that ends in 0000 as 1E+4, this as 10000).
            assert read == expected == value[1]
            assert read.as_tuple().exponent == expected.as_tuple().exponent
        # Parameters take the codec too.
        assert await ours.fetchval("SELECT $1::numeric::text", values[0]) == written_by_them[0][0]
    finally:
        await ours.close()
        await theirs.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(NUMBERS, min_size=1, max_size=60))
def test_copy_writes_what_asyncpg_writes_and_reads_back_what_postgres_holds(
    database_url: str, values: list[Decimal]
) -> None:
    asyncio.run(_both_ways(_plain(database_url), values))


def test_what_numeric_cannot_hold_is_a_value_error_as_with_asyncpg() -> None:
    with pytest.raises(ValueError, match="exponent is too small"):
        numeric.encode(Decimal("1E-20000"))
    with pytest.raises(ValueError, match="exponent is too large"):
        numeric.encode(Decimal("1E+200000"))
    # Anything Decimal() takes, as asyncpg's codec takes it (a float exactly, not its repr).
    assert numeric.encode(1) == numeric.encode(Decimal(1))
    assert numeric.encode("2.50") == numeric.encode(Decimal("2.50"))
    exact = Decimal.from_float(0.1)  # 0.1000000000000000055511151231257827...
    assert numeric.encode(0.1) == numeric.encode(exact) != numeric.encode(Decimal("0.1"))


def test_equal_values_of_different_scales_keep_their_scales() -> None:
    # 1.0 == 1.00 as Decimals, but Postgres keeps 1.0 and 1.00 apart: no shared cache entry.
    assert numeric.encode(Decimal("1.0")) != numeric.encode(Decimal("1.00"))
    assert str(numeric.decode(numeric.encode(Decimal("1.00")))) == "1.00"


def test_the_caches_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(numeric, "CACHE_SIZE", 100)
    for i in range(1000):
        assert numeric.decode(numeric.encode(Decimal(i) / 7)) == (Decimal(i) / 7)
    assert len(numeric._encoded) <= 100 and len(numeric._decoded) <= 100


@pytest.mark.asyncio(loop_scope="session")
async def test_the_engines_connections_use_it(engine: AsyncEngine) -> None:
    value = Decimal("98765.4321")
    numeric._encoded.pop(str(value), None)
    async with engine.connect() as conn:
        got = await conn.scalar(text("SELECT CAST(:v AS numeric) * 2"), {"v": value})
    assert got == value * 2
    assert str(value) in numeric._encoded
