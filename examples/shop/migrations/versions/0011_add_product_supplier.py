"""add product supplier

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("supplier_id", sa.Integer))
        batch.create_foreign_key("fk_products_supplier", "suppliers", ["supplier_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint("fk_products_supplier", type_="foreignkey")
        batch.drop_column("supplier_id")
