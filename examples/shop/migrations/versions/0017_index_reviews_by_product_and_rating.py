"""index reviews by product and rating

Revision ID: 0017
Revises: 0016
"""
from alembic import op

revision = "0017"
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reviews_product_rating", "reviews", ["product_id", "rating"])


def downgrade() -> None:
    op.drop_index("ix_reviews_product_rating", "reviews")
