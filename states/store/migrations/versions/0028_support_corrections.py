"""support teaching: corrections of filed monthly check-ins (更正月度考勤)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "support_checkin_corrections",
        sa.Column("id", ID, nullable=False),
        sa.Column("checkin_id", ID, nullable=False),
        sa.Column("term_case_id", ID, nullable=False),
        sa.Column("was_attendance_days", sa.Integer(), nullable=True),
        sa.Column("was_teaching_hours", sa.Integer(), nullable=True),
        sa.Column("was_assessment", sa.Text(), nullable=True),
        sa.Column("attendance_days", sa.Integer(), nullable=True),
        sa.Column("teaching_hours", sa.Integer(), nullable=True),
        sa.Column("assessment", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("corrected_by", ID, nullable=True),
        sa.ForeignKeyConstraint(["checkin_id"], ["support_checkins.id"]),
        sa.ForeignKeyConstraint(["corrected_by"], ["people.id"]),
        sa.ForeignKeyConstraint(["term_case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_support_checkin_corrections_checkin",
        "support_checkin_corrections",
        ["checkin_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_support_checkin_corrections_checkin", table_name="support_checkin_corrections"
    )
    op.drop_table("support_checkin_corrections")
