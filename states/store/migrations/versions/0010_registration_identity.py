"""recruitment registrations bound to the phone that confirmed them

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

One live registration per (round, ID number) and per (round, confirmed phone): the old
unique constraint on (round, ID number) becomes a partial unique index that a voided
(squatted) registration no longer counts in, and identity conflicts get their table.
Registrations made before this revision keep ``confirmed_phone`` empty: which of them were
made online is not on record.
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

LIVE = sa.text("voided_at IS NULL")
BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# SQLite's unnamed table constraints get these names when batch mode rebuilds the table.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _old_unique() -> str:
    """The name each database gave the unnamed UNIQUE (round_id, id_number) of 0004."""
    if op.get_bind().dialect.name == 'postgresql':
        return 'applicants_round_id_id_number_key'
    return 'uq_applicants_round_id_id_number'


def upgrade() -> None:
    with op.batch_alter_table('applicants', naming_convention=NAMING) as batch_op:
        batch_op.add_column(sa.Column('confirmed_phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(_old_unique(), type_='unique')
        batch_op.create_check_constraint(
            'ck_applicants_confirmed_phone', 'confirmed_phone IS NULL OR confirmed_phone = phone'
        )
    op.create_index(
        'ix_applicants_round_id_number', 'applicants', ['round_id', 'id_number'], unique=False
    )
    op.create_index(
        'uq_applicants_round_id_number', 'applicants', ['round_id', 'id_number'],
        unique=True, sqlite_where=LIVE, postgresql_where=LIVE,
    )
    op.create_index(
        'uq_applicants_round_phone', 'applicants', ['round_id', 'confirmed_phone'],
        unique=True, sqlite_where=LIVE, postgresql_where=LIVE,
    )
    op.create_table('registration_conflicts',
    sa.Column('id', BigId, nullable=False),
    sa.Column('round_id', BigId, nullable=False),
    sa.Column('case_id', BigId, nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('claimed_name', sa.String(length=64), nullable=False),
    sa.Column('claimed_phone', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['round_id'], ['recruitment_rounds.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(
        'ix_registration_conflicts_case_id', 'registration_conflicts', ['case_id'], unique=False
    )
    op.create_index(
        'ix_registration_conflicts_round', 'registration_conflicts', ['round_id', 'resolved_at'],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index('ix_registration_conflicts_round', table_name='registration_conflicts')
    op.drop_index('ix_registration_conflicts_case_id', table_name='registration_conflicts')
    op.drop_table('registration_conflicts')
    op.drop_index('uq_applicants_round_phone', table_name='applicants')
    op.drop_index('uq_applicants_round_id_number', table_name='applicants')
    op.drop_index('ix_applicants_round_id_number', table_name='applicants')
    with op.batch_alter_table('applicants') as batch_op:
        batch_op.drop_constraint('ck_applicants_confirmed_phone', type_='check')
        batch_op.create_unique_constraint(_old_unique(), ['round_id', 'id_number'])
        batch_op.drop_column('voided_at')
        batch_op.drop_column('confirmed_phone')
