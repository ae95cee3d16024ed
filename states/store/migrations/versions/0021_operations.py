"""operations: scheduled job runs (placeholder: no change yet)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
