"""add customer phone

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("phone", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("phone")
