"""sales_orders.raw compressed with lz4 where the server has it

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 16:00:00

Each order keeps its detail as received (several KB of JSON); compressing it with pglz, the
default, was about an eighth of the database's work in a full sync (bench/load_path.py). lz4
is several times cheaper and about as small. Only values written from now on are affected. A
server built without lz4 keeps the default and says so in a notice.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _set_compression(method: str) -> None:
    op.execute(
        f"""
DO $$
BEGIN
    EXECUTE 'ALTER TABLE scansource.sales_orders ALTER COLUMN raw SET COMPRESSION {method}';
EXCEPTION WHEN feature_not_supported OR syntax_error THEN
    RAISE NOTICE 'compression {method} is not available here: sales_orders.raw keeps its own';
END
$$"""
    )


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
