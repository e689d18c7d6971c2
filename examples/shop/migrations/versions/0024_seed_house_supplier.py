"""seed house supplier

Revision ID: 0024
Revises: 0023
"""
import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    suppliers = sa.table("suppliers", sa.column("id", sa.Integer), sa.column("name", sa.String))
    op.bulk_insert(suppliers, [{"id": 1, "name": "house brand"}])
    op.execute("UPDATE products SET supplier_id = 1 WHERE supplier_id IS NULL")


def downgrade() -> None:
    op.execute("UPDATE products SET supplier_id = NULL WHERE supplier_id = 1")
    op.execute("DELETE FROM suppliers WHERE id = 1")
