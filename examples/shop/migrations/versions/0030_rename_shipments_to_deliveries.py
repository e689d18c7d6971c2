"""rename shipments to deliveries

Revision ID: 0030
Revises: 0029
"""
from alembic import op

revision = "0030"
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.rename_table("shipments", "deliveries")


def downgrade() -> None:
    op.rename_table("deliveries", "shipments")
