"""roster: a teacher's status (in service, on leave, retired, deceased) with its date, and
the record's version, so that two officers editing one record cannot overwrite each other;
the digest of the roster row a record was last imported from, with the version it left

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Server defaults: every teacher already on record is in service, at version 1.
    with op.batch_alter_table('teachers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('status', sa.String(length=16), server_default='active', nullable=False)
        )
        batch_op.add_column(sa.Column('status_since', sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column('version', sa.Integer(), server_default='1', nullable=False)
        )
        batch_op.add_column(sa.Column('import_digest', sa.LargeBinary(length=16), nullable=True))
        batch_op.add_column(sa.Column('import_version', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('teachers', schema=None) as batch_op:
        batch_op.drop_column('import_version')
        batch_op.drop_column('import_digest')
        batch_op.drop_column('version')
        batch_op.drop_column('status_since')
        batch_op.drop_column('status')
