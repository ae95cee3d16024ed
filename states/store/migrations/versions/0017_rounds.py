"""rounds: the title-review year with its declaration window (title_review_years); a
recruitment round's announcement and the day its registration was closed

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('title_review_years',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('province_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=False),
    sa.Column('opened_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['province_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['opened_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['closed_by'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('province_id', 'year')
    )
    with op.batch_alter_table('recruitment_rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('announcement', sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column('registration_closed_at', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('recruitment_rounds', schema=None) as batch_op:
        batch_op.drop_column('registration_closed_at')
        batch_op.drop_column('announcement')
    op.drop_table('title_review_years')
