"""cases: slot_key (generic counted slots, was quota_key) and parent_id (child cases)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_quota')
        batch_op.alter_column('quota_key', new_column_name='slot_key',
                              existing_type=sa.String(length=48), existing_nullable=True)
        batch_op.add_column(sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key('fk_cases_parent_id_cases', 'cases', ['parent_id'], ['id'])
    # SQLite rebuilds the table per batch: index the renamed column once it exists.
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_slot', ['org_unit_id', 'year', 'slot_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_parent_id'), ['parent_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_parent_id'))
        batch_op.drop_index('ix_cases_slot')
        batch_op.drop_constraint('fk_cases_parent_id_cases', type_='foreignkey')
        batch_op.drop_column('parent_id')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('slot_key', new_column_name='quota_key',
                              existing_type=sa.String(length=48), existing_nullable=True)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_quota', ['org_unit_id', 'year', 'quota_key'], unique=False)
