"""the service ledger: each term of rural or weak-school service credited to a teacher, with its source case

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_credits',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('teacher_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('source_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('corrects_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('school_name', sa.String(length=128), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('years', sa.Float(), nullable=False),
    sa.Column('assessment', sa.String(length=16), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['corrects_id'], ['service_credits.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['source_case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['teacher_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source_case_id', 'kind')
    )
    op.create_index('ix_service_credits_teacher_months', 'service_credits', ['teacher_id', 'months'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_service_credits_teacher_months', table_name='service_credits')
    op.drop_table('service_credits')
