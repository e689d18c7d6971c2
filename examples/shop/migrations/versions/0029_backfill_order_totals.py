"""backfill order totals

Revision ID: 0029
Revises: 0028
"""
from alembic import op

revision = "0029"
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE orders SET total = (SELECT COALESCE(SUM(quantity * unit_price), 0) "
        "FROM order_items WHERE order_items.order_id = orders.id)"
    )


def downgrade() -> None:
    op.execute("UPDATE orders SET total = NULL")
