"""sync_failures can be closed: an order gone from the API is not retried forever

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 12:00:00

A failure whose order has disappeared from the API (its detail answers 404, or a search by its
number finds nothing) was retried by every run, for ever. gone_attempts counts the runs in a row
that found it gone; after sync_gone_after_attempts of them the failure is closed: resolution
'gone' and resolved_at, and runs no longer retry it. The order loaded again later (it came back)
deletes the row, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "scansource"
TABLE = "sync_failures"
CHECK = "ck_sync_failures_resolution"
COMMENT_BEFORE = "Orders that could not be fetched or loaded; every run retries them."
COMMENT = (
    "Orders that could not be fetched or loaded; every run retries the open ones "
    "(resolution empty)."
)
COLUMNS = {
    "gone_attempts": "Runs in a row that found the order gone from the API (its detail "
    "answered 404, or a search by its number found nothing); 0 after any other failure.",
    "resolution": "Empty while the failure is open (every run retries it); gone: closed, the "
    "order has disappeared from the API and is no longer retried.",
    "resolved_at": "When the failure was closed; empty while it is open.",
}


def upgrade() -> None:
    op.add_column(
        TABLE,
        sa.Column(
            "gone_attempts",
            sa.Integer(),
            server_default="0",
            nullable=False,
            comment=COLUMNS["gone_attempts"],
        ),
        schema=S,
    )
    op.add_column(
        TABLE, sa.Column("resolution", sa.Text(), comment=COLUMNS["resolution"]), schema=S
    )
    op.add_column(
        TABLE,
        sa.Column(
            "resolved_at", postgresql.TIMESTAMP(timezone=True), comment=COLUMNS["resolved_at"]
        ),
        schema=S,
    )
    op.create_check_constraint(
        CHECK,
        TABLE,
        "(resolution IS NULL AND resolved_at IS NULL) "
        "OR (resolution = 'gone' AND resolved_at IS NOT NULL)",
        schema=S,
    )
    op.create_table_comment(TABLE, COMMENT, existing_comment=COMMENT_BEFORE, schema=S)


def downgrade() -> None:
    op.create_table_comment(TABLE, COMMENT_BEFORE, existing_comment=COMMENT, schema=S)
    op.drop_constraint(CHECK, TABLE, schema=S, type_="check")
    for column in ("resolved_at", "resolution", "gone_attempts"):
        op.drop_column(TABLE, column, schema=S)
