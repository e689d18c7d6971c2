"""create coupons

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("percent_off", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("coupons")
