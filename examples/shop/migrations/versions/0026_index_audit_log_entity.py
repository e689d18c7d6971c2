"""index audit log entity

Revision ID: 0026
Revises: 0025
"""
from alembic import op

revision = "0026"
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_entity", "audit_log")
