"""Supervision's own tables: the campaign with its settings and checklist, the draw's inputs
(the units in scope and the inspector pool, each as it stood when drawn), its result (the
targets and who inspects each) and the findings, each tied to the rectification case it
opened. They join the one schema through the shared declarative base
(``ProcessPackage.tables``); migration 0027 creates them.

What the database itself guarantees: a unit is drawn once per campaign, an inspector is
assigned to a target once, and a finding opens exactly one rectification.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from states.store.models import Base, BigId, UTCDateTime


class SupervisionCampaign(Base):
    """An inspection campaign (专项督查) at its organising unit. Its steps are the
    transitions of its case; the seeds and the inputs' digest are also on that case's
    trail, where they are sealed."""

    __tablename__ = "supervision_campaigns"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    organiser_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(128))
    # the counties whose schools are in scope; None: every school under the organiser
    scope_counties: Mapped[list[Any] | None] = mapped_column(JSON)
    visit_from: Mapped[dt.date] = mapped_column(Date)
    visit_to: Mapped[dt.date] = mapped_column(Date)
    ratio_percent: Mapped[int] = mapped_column(Integer)
    per_target: Mapped[int] = mapped_column(Integer)  # inspectors per target
    announced: Mapped[bool] = mapped_column(Boolean)  # False: targets are not told in advance
    rectify_days: Mapped[int] = mapped_column(Integer)  # working days to rectify a finding
    # [{"code": "A1", "text": "…", "evidence": true}, …]
    checklist: Mapped[list[Any]] = mapped_column(JSON)
    target_seed: Mapped[int | None] = mapped_column(BigInteger)
    inspector_seed: Mapped[int | None] = mapped_column(BigInteger)
    inputs_digest: Mapped[str | None] = mapped_column(String(64))
    drawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    visits_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # targets told by then
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class SupervisionScope(Base):
    """A unit in the campaign's scope when it was drawn (its path then, for recusal)."""

    __tablename__ = "supervision_scope"
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_campaigns.id"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    path: Mapped[str] = mapped_column(String(255))


class SupervisionPool(Base):
    """An inspector of the pool when the campaign was drawn, with the paths of their own
    units (recused from those and their subtrees)."""

    __tablename__ = "supervision_pool"
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_campaigns.id"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    own: Mapped[list[Any]] = mapped_column(JSON)


class SupervisionTarget(Base):
    """A unit drawn for inspection."""

    __tablename__ = "supervision_targets"
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_campaigns.id"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)


class SupervisionAssignment(Base):
    """An inspector drawn to inspect one target."""

    __tablename__ = "supervision_assignments"
    __table_args__ = (Index("ix_supervision_assignments_inspector", "inspector_id"),)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("supervision_campaigns.id"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)


class SupervisionFinding(Base):
    """A problem an inspector found at a target against one checklist item, with its
    evidence (attachments, SHA-256 kept) and the rectification case it opened."""

    __tablename__ = "supervision_findings"
    __table_args__ = (Index("ix_supervision_findings_unit", "campaign_id", "unit_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("supervision_campaigns.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    item_code: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    clue: Mapped[str | None] = mapped_column(Text)  # 线索来源: for the inspectors and organiser
    inspector_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    # [{"attachment": id, "filename": …, "sha256": …, "size": n, "content_type": …}, …]
    evidence: Mapped[list[Any]] = mapped_column(JSON)


TABLES = (
    SupervisionCampaign,
    SupervisionScope,
    SupervisionPool,
    SupervisionTarget,
    SupervisionAssignment,
    SupervisionFinding,
)
