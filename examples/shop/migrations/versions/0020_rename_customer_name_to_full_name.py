"""rename customer name to full_name

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.alter_column("name", new_column_name="full_name", existing_type=sa.String(200),
                           existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.alter_column("full_name", new_column_name="name", existing_type=sa.String(200),
                           existing_nullable=False)
