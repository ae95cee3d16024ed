"""inbox: notices read and cleared with their task (placeholder: no change yet)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
