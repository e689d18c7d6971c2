"""add order coupon

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("coupon_code", sa.String(20)))
        batch.create_foreign_key("fk_orders_coupon", "coupons", ["coupon_code"], ["code"])


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("fk_orders_coupon", type_="foreignkey")
        batch.drop_column("coupon_code")
