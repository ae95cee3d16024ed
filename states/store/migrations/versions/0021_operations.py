"""operations: every run of a scheduled job (job_runs), however it was started, for the
operations page; an unfinished run holds its job (a partial unique index)

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('id', BigId, nullable=False),
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('person_id', BigId, nullable=True),
    sa.Column('started_by', sa.String(length=64), nullable=True),
    sa.Column('runner', sa.String(length=128), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_job_runs_job', 'job_runs', ['job', 'started_at'], unique=False)
    running = sa.text('finished_at IS NULL')
    op.create_index('uq_job_runs_running', 'job_runs', ['job'], unique=True,
                    sqlite_where=running, postgresql_where=running)


def downgrade() -> None:
    op.drop_index('uq_job_runs_running', table_name='job_runs')
    op.drop_index('ix_job_runs_job', table_name='job_runs')
    op.drop_table('job_runs')
