"""accounts: forced password change, the unit that keeps an account, delegations (代理) and
the task's person to return to

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('unit_id', BigId, nullable=True))
        batch_op.create_index('ix_people_unit_id', ['unit_id'])
        batch_op.create_foreign_key('fk_people_unit_id', 'org_units', ['unit_id'], ['id'])
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delegated_from', BigId, nullable=True))
        batch_op.create_foreign_key('fk_tasks_delegated_from', 'people', ['delegated_from'],
                                    ['id'])
    op.create_table(
        'delegations',
        sa.Column('id', BigId, nullable=False),
        sa.Column('person_id', BigId, nullable=False),
        sa.Column('acting_id', BigId, nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('set_by', BigId, nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id']),
        sa.ForeignKeyConstraint(['acting_id'], ['people.id']),
        sa.ForeignKeyConstraint(['set_by'], ['people.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_delegations_person_id', 'delegations', ['person_id'])
    op.create_index('ix_delegations_acting_id', 'delegations', ['acting_id'])


def downgrade() -> None:
    op.drop_index('ix_delegations_acting_id', table_name='delegations')
    op.drop_index('ix_delegations_person_id', table_name='delegations')
    op.drop_table('delegations')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tasks_delegated_from', type_='foreignkey')
        batch_op.drop_column('delegated_from')
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_constraint('fk_people_unit_id', type_='foreignkey')
        batch_op.drop_index('ix_people_unit_id')
        batch_op.drop_column('unit_id')
        batch_op.drop_column('must_change_password')
