"""supervision (督查): inspection campaigns, their draws, findings and rectifications

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-30
"""

from alembic import op
import sqlalchemy as sa


revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_campaigns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "organiser_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=128), nullable=False),
        sa.Column("scope_counties", sa.JSON(), nullable=True),
        sa.Column("visit_from", sa.Date(), nullable=False),
        sa.Column("visit_to", sa.Date(), nullable=False),
        sa.Column("ratio_percent", sa.Integer(), nullable=False),
        sa.Column("per_target", sa.Integer(), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column("rectify_days", sa.Integer(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("target_seed", sa.BigInteger(), nullable=True),
        sa.Column("inspector_seed", sa.BigInteger(), nullable=True),
        sa.Column("inputs_digest", sa.String(length=64), nullable=True),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visits_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["organiser_id"],
            ["org_units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_supervision_campaigns_case_id"), "supervision_campaigns", ["case_id"], unique=False
    )
    op.create_index(
        op.f("ix_supervision_campaigns_organiser_id"),
        "supervision_campaigns",
        ["organiser_id"],
        unique=False,
    )
    op.create_table(
        "supervision_assignments",
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "inspector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["supervision_campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["org_units.id"],
        ),
        sa.PrimaryKeyConstraint("campaign_id", "unit_id", "inspector_id"),
    )
    op.create_index(
        "ix_supervision_assignments_inspector",
        "supervision_assignments",
        ["inspector_id"],
        unique=False,
    )
    op.create_table(
        "supervision_findings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_code", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("clue", sa.Text(), nullable=True),
        sa.Column(
            "inspector_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["supervision_campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"],
            ["people.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["org_units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    op.create_index(
        "ix_supervision_findings_unit",
        "supervision_findings",
        ["campaign_id", "unit_id"],
        unique=False,
    )
    op.create_table(
        "supervision_pool",
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("own", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["supervision_campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
        ),
        sa.PrimaryKeyConstraint("campaign_id", "person_id"),
    )
    op.create_table(
        "supervision_scope",
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("path", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["supervision_campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["org_units.id"],
        ),
        sa.PrimaryKeyConstraint("campaign_id", "unit_id"),
    )
    op.create_table(
        "supervision_targets",
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["supervision_campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["org_units.id"],
        ),
        sa.PrimaryKeyConstraint("campaign_id", "unit_id"),
    )


def downgrade() -> None:
    op.drop_table("supervision_targets")
    op.drop_table("supervision_scope")
    op.drop_table("supervision_pool")
    op.drop_index("ix_supervision_findings_unit", table_name="supervision_findings")
    op.drop_table("supervision_findings")
    op.drop_index("ix_supervision_assignments_inspector", table_name="supervision_assignments")
    op.drop_table("supervision_assignments")
    op.drop_index(op.f("ix_supervision_campaigns_organiser_id"), table_name="supervision_campaigns")
    op.drop_index(op.f("ix_supervision_campaigns_case_id"), table_name="supervision_campaigns")
    op.drop_table("supervision_campaigns")
