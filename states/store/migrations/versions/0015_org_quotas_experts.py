"""org_quotas_experts: closed and merged units, versions for units and quotas, expert
availability per year and declared conflicts

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch rebuild: every other table references org_units, and
    # SQLite (foreign keys on) cannot drop and recreate a referenced table that has rows.
    op.add_column('org_units', sa.Column('closed_on', sa.Date(), nullable=True))
    op.add_column('org_units', sa.Column('version', sa.Integer(), nullable=False,
                                         server_default='1'))
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite takes a foreign key only inline in ADD COLUMN.
        op.execute('ALTER TABLE org_units ADD COLUMN merged_into_id INTEGER '
                   'REFERENCES org_units (id)')
    else:
        op.add_column('org_units', sa.Column('merged_into_id', BigId, nullable=True))
        op.create_foreign_key('fk_org_units_merged_into_id_org_units', 'org_units',
                              'org_units', ['merged_into_id'], ['id'])
    op.add_column('quotas', sa.Column('version', sa.Integer(), nullable=False,
                                      server_default='1'))

    op.create_table(
        'expert_availability',
        sa.Column('id', BigId, nullable=False),
        sa.Column('person_id', BigId, nullable=False),
        sa.Column('org_unit_id', BigId, nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('available', sa.Boolean(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False, server_default='1'),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', BigId, nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id']),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id']),
        sa.ForeignKeyConstraint(['updated_by'], ['people.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('person_id', 'org_unit_id', 'year'),
    )
    op.create_index('ix_expert_availability_org_unit_id', 'expert_availability',
                    ['org_unit_id'])
    op.create_table(
        'expert_conflicts',
        sa.Column('id', BigId, nullable=False),
        sa.Column('expert_id', BigId, nullable=False),
        sa.Column('org_unit_id', BigId, nullable=True),
        sa.Column('person_id', BigId, nullable=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('declared_by', BigId, nullable=True),
        sa.ForeignKeyConstraint(['expert_id'], ['people.id']),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id']),
        sa.ForeignKeyConstraint(['person_id'], ['people.id']),
        sa.ForeignKeyConstraint(['declared_by'], ['people.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_expert_conflicts_expert_id', 'expert_conflicts', ['expert_id'])


def downgrade() -> None:
    op.drop_index('ix_expert_conflicts_expert_id', table_name='expert_conflicts')
    op.drop_table('expert_conflicts')
    op.drop_index('ix_expert_availability_org_unit_id', table_name='expert_availability')
    op.drop_table('expert_availability')
    with op.batch_alter_table('quotas', schema=None) as batch_op:
        batch_op.drop_column('version')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_org_units_merged_into_id_org_units', 'org_units',
                           type_='foreignkey')
    with op.batch_alter_table('org_units', schema=None) as batch_op:
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('version')
        batch_op.drop_column('closed_on')
