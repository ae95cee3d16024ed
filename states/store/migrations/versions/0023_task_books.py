"""task books: task lists and target responsibility — a unit's task book, its tasks (each
issued task the row beside its case) with their milestones, progress reports and extensions;
the year-end scoring rounds, each scorer's sheet, the scores and the results

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('task_standing_days',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('computed_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('score_rounds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('served_units', sa.JSON(), nullable=True),
    sa.Column('closes_on', sa.Date(), nullable=False),
    sa.Column('opened_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['opened_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_id', 'year', name='uq_score_rounds_unit_year')
    )
    op.create_index(op.f('ix_score_rounds_case_id'), 'score_rounds', ['case_id'], unique=False)
    op.create_table('task_books',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('source_file', sa.String(length=255), nullable=True),
    sa.Column('source_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_id', 'year', name='uq_task_books_unit_year')
    )
    op.create_index(op.f('ix_task_books_case_id'), 'task_books', ['case_id'], unique=False)
    op.create_table('score_results',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('tasks', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['round_id'], ['score_rounds.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'unit_id', name='uq_score_results_unit')
    )
    op.create_table('score_sheets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('scorer_unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('party', sa.String(length=16), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['score_rounds.id'], ),
    sa.ForeignKeyConstraint(['scorer_unit_id'], ['org_units.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('round_id', 'scorer_unit_id', 'party', name='uq_score_sheets_scorer')
    )
    op.create_index(op.f('ix_score_sheets_case_id'), 'score_sheets', ['case_id'], unique=False)
    op.create_index(op.f('ix_score_sheets_round_id'), 'score_sheets', ['round_id'], unique=False)
    op.create_table('work_tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('book_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('parent_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('lead_unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issuer_unit_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('co_units', sa.JSON(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('last_report_on', sa.Date(), nullable=True),
    sa.Column('stagnant_since', sa.Date(), nullable=True),
    sa.Column('next_due', sa.Date(), nullable=True),
    sa.Column('remind_level', sa.Integer(), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('lead_path', sa.String(length=255), nullable=False),
    sa.Column('unit1_id', sa.BigInteger(), nullable=True),
    sa.Column('unit2_id', sa.BigInteger(), nullable=True),
    sa.Column('unit3_id', sa.BigInteger(), nullable=True),
    sa.Column('standing', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['book_id'], ['task_books.id'], ),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['issuer_unit_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['lead_unit_id'], ['org_units.id'], ),
    sa.ForeignKeyConstraint(['parent_id'], ['work_tasks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )
    op.create_index('ix_work_tasks_board', 'work_tasks', ['lead_path', 'year', 'standing', 'unit1_id', 'unit2_id', 'unit3_id', 'lead_unit_id', 'source', 'deadline', 'closed_on'], unique=False)
    op.create_index(op.f('ix_work_tasks_book_id'), 'work_tasks', ['book_id'], unique=False)
    op.create_index(op.f('ix_work_tasks_lead_unit_id'), 'work_tasks', ['lead_unit_id'], unique=False)
    op.create_index('ix_work_tasks_open_deadline', 'work_tasks', ['closed_on', 'escalated_at', 'deadline'], unique=False)
    op.create_index('ix_work_tasks_open_report', 'work_tasks', ['closed_on', 'stagnant_since', 'last_report_on'], unique=False)
    op.create_index(op.f('ix_work_tasks_parent_id'), 'work_tasks', ['parent_id'], unique=False)
    op.create_index('ix_work_tasks_standing', 'work_tasks', ['year', 'standing', 'deadline'], unique=False)
    op.create_table('task_extensions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requested_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('old_deadline', sa.Date(), nullable=False),
    sa.Column('new_deadline', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['work_tasks.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_task_extensions_task_id'), 'task_extensions', ['task_id'], unique=False)
    op.create_table('task_milestones',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('remind_level', sa.Integer(), nullable=False),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['work_tasks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_id', 'seq', name='uq_task_milestones_seq')
    )
    op.create_index('ix_task_milestones_open', 'task_milestones', ['done_on', 'escalated_at', 'due_on'], unique=False)
    op.create_table('task_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('previous', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=True),
    sa.Column('milestone_seq', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['reported_by'], ['people.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['work_tasks.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_task_reports_task_id'), 'task_reports', ['task_id'], unique=False)
    op.create_table('task_scores',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sheet_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['sheet_id'], ['score_sheets.id'], ),
    sa.ForeignKeyConstraint(['task_id'], ['work_tasks.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sheet_id', 'task_id', name='uq_task_scores_task')
    )


def downgrade() -> None:
    op.drop_table('task_scores')
    op.drop_index(op.f('ix_task_reports_task_id'), table_name='task_reports')
    op.drop_table('task_reports')
    op.drop_index('ix_task_milestones_open', table_name='task_milestones')
    op.drop_table('task_milestones')
    op.drop_index(op.f('ix_task_extensions_task_id'), table_name='task_extensions')
    op.drop_table('task_extensions')
    op.drop_index('ix_work_tasks_standing', table_name='work_tasks')
    op.drop_index(op.f('ix_work_tasks_parent_id'), table_name='work_tasks')
    op.drop_index('ix_work_tasks_open_report', table_name='work_tasks')
    op.drop_index('ix_work_tasks_open_deadline', table_name='work_tasks')
    op.drop_index(op.f('ix_work_tasks_lead_unit_id'), table_name='work_tasks')
    op.drop_index(op.f('ix_work_tasks_book_id'), table_name='work_tasks')
    op.drop_index('ix_work_tasks_board', table_name='work_tasks')
    op.drop_table('work_tasks')
    op.drop_index(op.f('ix_score_sheets_round_id'), table_name='score_sheets')
    op.drop_index(op.f('ix_score_sheets_case_id'), table_name='score_sheets')
    op.drop_table('score_sheets')
    op.drop_table('score_results')
    op.drop_index(op.f('ix_task_books_case_id'), table_name='task_books')
    op.drop_table('task_books')
    op.drop_index(op.f('ix_score_rounds_case_id'), table_name='score_rounds')
    op.drop_table('score_rounds')
    op.drop_table('task_standing_days')
