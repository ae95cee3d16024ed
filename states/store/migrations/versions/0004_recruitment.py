"""recruitment

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('recruitment_rounds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('province_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('written_weight', sa.Float(), nullable=False),
    sa.Column('shortlist_ratio', sa.Integer(), nullable=False),
    sa.Column('registration_opens', sa.Date(), nullable=False),
    sa.Column('registration_closes', sa.Date(), nullable=False),
    sa.Column('replacement_deadline', sa.Date(), nullable=True),
    sa.Column('max_age', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['province_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('posts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('county_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=32), nullable=False),
    sa.Column('school_level', sa.String(length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('min_education', sa.String(length=16), nullable=False),
    sa.Column('cert_required', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['county_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['plan_case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['recruitment_rounds.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'code')
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_posts_county_id'), ['county_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_posts_plan_case_id'), ['plan_case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_posts_round_id'), ['round_id'], unique=False)

    op.create_table('post_seats',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('school_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ),
    sa.ForeignKeyConstraint(['school_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('post_id', 'school_id')
    )
    with op.batch_alter_table('post_seats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_seats_post_id'), ['post_id'], unique=False)

    op.create_table('applicants',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('post_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('gender', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('education', sa.String(length=16), nullable=False),
    sa.Column('cert_level', sa.String(length=16), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('written_score', sa.Float(), nullable=True),
    sa.Column('interview_score', sa.Float(), nullable=True),
    sa.Column('composite', sa.Float(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('choice_turn', sa.Integer(), nullable=True),
    sa.Column('seat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['recruitment_rounds.id'], ),
    sa.ForeignKeyConstraint(['seat_id'], ['post_seats.id'], ),
    sa.PrimaryKeyConstraint('case_id'),
    sa.UniqueConstraint('round_id', 'id_number')
    )
    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.create_index('ix_applicants_post_written', ['post_id', 'written_score'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('applicants', schema=None) as batch_op:
        batch_op.drop_index('ix_applicants_post_written')

    op.drop_table('applicants')
    with op.batch_alter_table('post_seats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_seats_post_id'))

    op.drop_table('post_seats')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_posts_round_id'))
        batch_op.drop_index(batch_op.f('ix_posts_plan_case_id'))
        batch_op.drop_index(batch_op.f('ix_posts_county_id'))

    op.drop_table('posts')
    op.drop_table('recruitment_rounds')

