"""compliance: the ethics pledge's clauses of a school year, as the province sets them

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-09
"""

from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    # a year without a row keeps the default clauses: nothing changes for existing pledges
    op.create_table('pledge_texts',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('clauses', sa.JSON(), nullable=False),
    sa.Column('set_by', BIG, nullable=True),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['set_by'], ['people.id'], ),
    sa.PrimaryKeyConstraint('year')
    )


def downgrade() -> None:
    op.drop_table('pledge_texts')
