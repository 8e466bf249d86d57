"""sync_locks: the account's row lock, which only roles that may write can take

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00

Any role that can connect may take the per-account advisory lock (its key is predictable), a
read-only BI role included, and the sync skipped the account for as long as it held it. A run
that finds the advisory lock held by a role that cannot write arbitrates with the other syncers
through the account's row here instead (syncer.warehouse.locks): locking a row FOR UPDATE needs
UPDATE on the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "scansource"


def upgrade() -> None:
    op.create_table(
        "sync_locks",
        sa.Column("account", sa.Text(), nullable=False, comment="Customer number of the account."),
        sa.PrimaryKeyConstraint("account"),
        schema=S,
        comment="One row per account, locked by a run when a reader holds its advisory lock.",
    )


def downgrade() -> None:
    op.drop_table("sync_locks", schema=S)
