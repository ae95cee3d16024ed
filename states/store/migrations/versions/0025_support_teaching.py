"""support teaching (支教): receiving schools' needs, paired regions, teachers' terms and their monthly check-ins

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('support_regions',
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('city_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registered_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['city_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['registered_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('unit_id')
    )
    op.create_index(op.f('ix_support_regions_city_id'), 'support_regions', ['city_id'], unique=False)
    op.create_table('support_needs',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('county_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('city_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('paired', sa.Boolean(), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('filled', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.CheckConstraint('places BETWEEN 1 AND 50 AND filled >= 0 AND filled <= places', name='ck_support_needs_places'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['city_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['county_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_index('ix_support_needs_city', 'support_needs', ['city_id', 'year'], unique=False)
    op.create_index('ix_support_needs_county', 'support_needs', ['county_id', 'year'], unique=False)
    op.create_index('ix_support_needs_school', 'support_needs', ['school_id'], unique=False)
    op.create_table('support_checkins',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('term_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attendance_days', sa.Integer(), nullable=True),
    sa.Column('teaching_hours', sa.Integer(), nullable=True),
    sa.Column('assessment', sa.Text(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['submitted_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ),
    sa.ForeignKeyConstraint(['term_case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('term_case_id', 'month', name='uq_support_checkins_month')
    )
    op.create_index('ix_support_checkins_task', 'support_checkins', ['task_id'], unique=False)
    op.create_table('support_terms',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('need_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('teacher_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sending_school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receiving_school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('dispatched_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('ended_early', sa.Boolean(), nullable=False),
    sa.Column('assessment', sa.String(length=16), nullable=True),
    sa.Column('credit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('checkins_through', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['credit_id'], ['service_credits.id'], ),
    sa.ForeignKeyConstraint(['need_id'], ['support_needs.case_id'], ),
    sa.ForeignKeyConstraint(['receiving_school_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['sending_school_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['teacher_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_index('ix_support_terms_need', 'support_terms', ['need_id'], unique=False)
    op.create_index('ix_support_terms_receiving', 'support_terms', ['receiving_school_id'], unique=False)
    op.create_index('ix_support_terms_teacher', 'support_terms', ['teacher_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_support_terms_teacher', table_name='support_terms')
    op.drop_index('ix_support_terms_receiving', table_name='support_terms')
    op.drop_index('ix_support_terms_need', table_name='support_terms')
    op.drop_table('support_terms')
    op.drop_index('ix_support_checkins_task', table_name='support_checkins')
    op.drop_table('support_checkins')
    op.drop_index('ix_support_needs_school', table_name='support_needs')
    op.drop_index('ix_support_needs_county', table_name='support_needs')
    op.drop_index('ix_support_needs_city', table_name='support_needs')
    op.drop_table('support_needs')
    op.drop_index(op.f('ix_support_regions_city_id'), table_name='support_regions')
    op.drop_table('support_regions')
