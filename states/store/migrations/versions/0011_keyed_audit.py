"""audit events hashed with a keyed HMAC; the key id each was sealed with

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Events written before this revision keep key_id NULL: `renshi audit verify` reports
    # them as unproven rather than trusting an unkeyed hash (docs/audit.md).
    op.create_table('audit_ledger',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('case_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_hash', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('case_id')
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('data_digest', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('data_digest')
        batch_op.drop_column('key_id')
    op.drop_table('audit_ledger')
