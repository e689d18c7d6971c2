"""seed categories

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    categories = sa.table("categories", sa.column("id", sa.Integer), sa.column("name", sa.String))
    op.bulk_insert(categories, [
        {"id": 1, "name": "books"},
        {"id": 2, "name": "games"},
        {"id": 3, "name": "garden"},
    ])


def downgrade() -> None:
    op.execute("DELETE FROM categories WHERE id IN (1, 2, 3)")
