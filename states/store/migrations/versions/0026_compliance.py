"""compliance checks: findings the scheduled checks open and close, the yearly ethics pledge, honour certificates

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
OPEN = sa.text('closed_at IS NULL')


def upgrade() -> None:
    op.create_table('compliance_findings',
    sa.Column('id', BIG, nullable=False),
    sa.Column('rule', sa.String(length=48), nullable=False),
    sa.Column('subject_kind', sa.String(length=8), nullable=False),
    sa.Column('subject_id', sa.BigInteger(), nullable=False),
    sa.Column('unit_id', BIG, nullable=False),
    sa.Column('unit_path', sa.String(length=255), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_how', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    # one open finding per rule and subject, however often or concurrently a check runs
    op.create_index('uq_compliance_findings_open', 'compliance_findings',
                    ['rule', 'subject_kind', 'subject_id'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index('ix_compliance_findings_open_path', 'compliance_findings', ['unit_path'],
                    unique=False, sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index('ix_compliance_findings_closed', 'compliance_findings', ['closed_at'],
                    unique=False)
    op.create_table('ethics_pledges',
    sa.Column('id', BIG, nullable=False),
    sa.Column('person_id', BIG, nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('text_sha256', sa.String(length=64), nullable=True),
    sa.Column('signer_id', BIG, nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.ForeignKeyConstraint(['signer_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('person_id', 'year', name='uq_ethics_pledges_year')
    )
    op.create_index('ix_ethics_pledges_unsigned', 'ethics_pledges', ['year', 'signed_at'],
                    unique=False)
    op.create_table('rural_honours',
    sa.Column('person_id', BIG, nullable=False),
    sa.Column('cert_no', sa.String(length=32), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issuer_unit_id', BIG, nullable=False),
    sa.Column('recorded_by', BIG, nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issuer_unit_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], ),
    sa.PrimaryKeyConstraint('person_id')
    )


def downgrade() -> None:
    op.drop_table('rural_honours')
    op.drop_index('ix_ethics_pledges_unsigned', table_name='ethics_pledges')
    op.drop_table('ethics_pledges')
    op.drop_index('ix_compliance_findings_closed', table_name='compliance_findings')
    op.drop_index('ix_compliance_findings_open_path', table_name='compliance_findings')
    op.drop_index('uq_compliance_findings_open', table_name='compliance_findings')
    op.drop_table('compliance_findings')
