"""add customer loyalty points

Revision ID: 0032
Revises: 0031
"""
import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("loyalty_points", sa.Integer, nullable=False,
                                         server_default="0"))
    op.create_index("ix_customers_loyalty_points", "customers", ["loyalty_points"])


def downgrade() -> None:
    op.drop_index("ix_customers_loyalty_points", "customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("loyalty_points")
