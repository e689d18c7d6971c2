"""add order total

Revision ID: 0028
Revises: 0027
"""
import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("total", sa.Numeric(12, 2)))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("total")
