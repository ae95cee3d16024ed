"""rotation: teacher rotation campaigns, their receiving posts, the eligible list with each
teacher's choice, preferences, the schools' confirmations and the placements of the current
matching result

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rotation_campaigns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('county_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('target_percent', sa.Integer(), nullable=False),
    sa.Column('backbone_percent', sa.Integer(), nullable=False),
    sa.Column('min_years', sa.Integer(), nullable=False),
    sa.Column('principal_terms', sa.Integer(), nullable=False),
    sa.Column('principal_term_years', sa.Integer(), nullable=False),
    sa.Column('eligible_as_of', sa.Date(), nullable=False),
    sa.Column('term_years', sa.Integer(), nullable=False),
    sa.Column('preferences_open', sa.Date(), nullable=False),
    sa.Column('preferences_close', sa.Date(), nullable=False),
    sa.Column('confirm_by', sa.Date(), nullable=False),
    sa.Column('publicity_days', sa.Integer(), nullable=False),
    sa.Column('remind_days', sa.Integer(), nullable=False),
    sa.Column('exemption_kinds', sa.JSON(), nullable=False),
    sa.Column('eligibility_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=True),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('posts_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shortfall_reason', sa.Text(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['county_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['opened_by'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('county_id', 'year', name='uq_rotation_campaigns_year')
    )
    op.create_index(op.f('ix_rotation_campaigns_case_id'), 'rotation_campaigns', ['case_id'], unique=False)
    op.create_table('rotation_eligible',
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('joined_school_on', sa.Date(), nullable=False),
    sa.Column('backbone_level', sa.String(length=16), nullable=True),
    sa.Column('principal', sa.Boolean(), nullable=False),
    sa.Column('exempt_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('exempt_kind', sa.String(length=32), nullable=True),
    sa.Column('volunteered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('nominated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('nominated_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['rotation_campaigns.id'], ),
    sa.ForeignKeyConstraint(['exempt_case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['nominated_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('campaign_id', 'person_id')
    )
    op.create_index('ix_rotation_eligible_school', 'rotation_eligible', ['campaign_id', 'school_id'], unique=False)
    op.create_table('rotation_posts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('places', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.CheckConstraint('places >= 0 AND reserved >= 0 AND reserved <= places', name='ck_rotation_posts_places'),
    sa.ForeignKeyConstraint(['campaign_id'], ['rotation_campaigns.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'school_id', 'subject', 'level', name='uq_rotation_posts')
    )
    op.create_index(op.f('ix_rotation_posts_campaign_id'), 'rotation_posts', ['campaign_id'], unique=False)
    op.create_table('rotation_school_lists',
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('selected', sa.Integer(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['rotation_campaigns.id'], ),
    sa.ForeignKeyConstraint(['confirmed_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('campaign_id', 'school_id')
    )
    op.create_table('rotation_placements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('run', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=24), nullable=False),
    sa.Column('slot', sa.String(length=16), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('cost', sa.Integer(), nullable=True),
    sa.Column('backbone', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['rotation_campaigns.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['from_school_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.ForeignKeyConstraint(['post_id'], ['rotation_posts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'person_id', name='uq_rotation_placements_teacher')
    )
    op.create_index(op.f('ix_rotation_placements_case_id'), 'rotation_placements', ['case_id'], unique=False)
    op.create_index('ix_rotation_placements_post', 'rotation_placements', ['post_id'], unique=False)
    op.create_table('rotation_preferences',
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.CheckConstraint('rank BETWEEN 1 AND 3', name='ck_rotation_preferences_rank'),
    sa.ForeignKeyConstraint(['campaign_id'], ['rotation_campaigns.id'], ),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.ForeignKeyConstraint(['post_id'], ['rotation_posts.id'], ),
    sa.PrimaryKeyConstraint('campaign_id', 'person_id', 'rank'),
    sa.UniqueConstraint('campaign_id', 'person_id', 'post_id', name='uq_rotation_preferences_post')
    )


def downgrade() -> None:
    op.drop_table('rotation_preferences')
    op.drop_index('ix_rotation_placements_post', table_name='rotation_placements')
    op.drop_index(op.f('ix_rotation_placements_case_id'), table_name='rotation_placements')
    op.drop_table('rotation_placements')
    op.drop_table('rotation_school_lists')
    op.drop_index(op.f('ix_rotation_posts_campaign_id'), table_name='rotation_posts')
    op.drop_table('rotation_posts')
    op.drop_index('ix_rotation_eligible_school', table_name='rotation_eligible')
    op.drop_table('rotation_eligible')
    op.drop_index(op.f('ix_rotation_campaigns_case_id'), table_name='rotation_campaigns')
    op.drop_table('rotation_campaigns')
