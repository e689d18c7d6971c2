"""index address city

Revision ID: 0009
Revises: 0008
"""
from alembic import op

revision = "0009"
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_addresses_city", "addresses", ["city"])


def downgrade() -> None:
    op.drop_index("ix_addresses_city", "addresses")
