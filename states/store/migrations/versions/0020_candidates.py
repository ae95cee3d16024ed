"""candidates: a candidate looks up their registrations of every round by ID number
(ix_applicants_id_number)

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa  # noqa: F401


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


# An index alone: SQLite creates and drops it in place (no batch copy of the table, whose
# partial unique indexes and check constraint stay as they are).
def upgrade() -> None:
    op.create_index('ix_applicants_id_number', 'applicants', ['id_number'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_applicants_id_number', table_name='applicants')
