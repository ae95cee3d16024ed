"""inbox: a notice names the task it is about (notifications.task_id), so that a reminder,
an urge or an escalation is settled once that task is closed

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite takes a foreign key only inline in ADD COLUMN (and a batch rebuild would copy
        # every notice).
        op.execute('ALTER TABLE notifications ADD COLUMN task_id INTEGER REFERENCES tasks (id)')
    else:
        op.add_column('notifications', sa.Column('task_id', BigId, nullable=True))
        op.create_foreign_key('fk_notifications_task_id_tasks', 'notifications', 'tasks',
                              ['task_id'], ['id'])
    # The notices already delivered: the task their outbox row named (reminders, urges and
    # escalations carry it in the payload), where that task exists.
    notes = sa.table('notifications', sa.column('outbox_id', BigId), sa.column('task_id', BigId),
                     sa.column('kind', sa.String()))
    outbox = sa.table('outbox', sa.column('id', BigId), sa.column('payload', sa.JSON()))
    tasks = sa.table('tasks', sa.column('id', BigId))
    named = (
        sa.select(tasks.c.id)
        .select_from(outbox.join(tasks, tasks.c.id == outbox.c.payload['task_id'].as_integer()))
        .where(outbox.c.id == notes.c.outbox_id)
        .scalar_subquery()
    )
    about_a_task = ('reminder_due_soon', 'reminder_due_today', 'reminder_overdue', 'urge',
                    'escalation')
    op.execute(notes.update().values(task_id=named).where(notes.c.kind.in_(about_a_task)))

def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('notifications', schema=None) as batch_op:
            batch_op.drop_column('task_id')
    else:
        op.drop_constraint('fk_notifications_task_id_tasks', 'notifications', type_='foreignkey')
        op.drop_column('notifications', 'task_id')
