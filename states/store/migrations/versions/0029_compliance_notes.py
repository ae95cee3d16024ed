"""compliance: explanations (情况说明) on findings, and findings closed by hand (人工销号)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02
"""

from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
BY_HAND = sa.text('closed_by IS NOT NULL')


def upgrade() -> None:
    # nullable columns with their references, added in place: SQLite accepts REFERENCES on
    # ADD COLUMN when the default is NULL (alembic would ask for a table copy instead)
    if op.get_bind().dialect.name == 'sqlite':
        for column, table in (('closed_by', 'people'), ('closed_unit_id', 'org_units')):
            op.execute(f'ALTER TABLE compliance_findings ADD COLUMN {column} INTEGER '
                       f'REFERENCES {table} (id)')
    else:
        op.add_column('compliance_findings',
                      sa.Column('closed_by', BIG, sa.ForeignKey('people.id'), nullable=True))
        op.add_column('compliance_findings',
                      sa.Column('closed_unit_id', BIG, sa.ForeignKey('org_units.id'),
                                nullable=True))
    op.add_column('compliance_findings', sa.Column('close_reason', sa.Text(), nullable=True))
    # a check does not open again this school year what an officer above closed by hand
    op.create_index('ix_compliance_findings_by_hand', 'compliance_findings',
                    ['rule', 'subject_kind', 'subject_id', 'closed_at'], unique=False,
                    sqlite_where=BY_HAND, postgresql_where=BY_HAND)
    op.create_table('compliance_notes',
    sa.Column('id', BIG, nullable=False),
    sa.Column('finding_id', BIG, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('author_id', BIG, nullable=False),
    sa.Column('author_unit_id', BIG, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['compliance_findings.id'], ),
    sa.ForeignKeyConstraint(['author_id'], ['people.id'], ),
    sa.ForeignKeyConstraint(['author_unit_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_compliance_notes_finding', 'compliance_notes', ['finding_id', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_compliance_notes_finding', table_name='compliance_notes')
    op.drop_table('compliance_notes')
    op.drop_index('ix_compliance_findings_by_hand', table_name='compliance_findings')
    with op.batch_alter_table('compliance_findings') as batch:
        batch.drop_column('close_reason')
        batch.drop_column('closed_unit_id')
        batch.drop_column('closed_by')
