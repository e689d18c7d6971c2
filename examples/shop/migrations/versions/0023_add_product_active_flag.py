"""add product active flag

Revision ID: 0023
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("products", sa.Column("active", sa.Boolean, nullable=False,
                                        server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("active")
