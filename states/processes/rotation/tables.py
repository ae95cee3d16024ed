"""Rotation's own tables: the county's campaign, its receiving posts, the eligible list with
each teacher's choice, their preferences, the schools' confirmations and the placements of
the current matching result. They join the one schema through the shared declarative base
(``ProcessPackage.tables``); migration 0022 creates them.

What the database itself guarantees, whatever the code does: a teacher is on a campaign's
list once and placed once (``uq_rotation_placements_teacher``), states at most three
preferences, each post once, and a post keeps no more reserved places than it has.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from states.store.models import Base, BigId, UTCDateTime


class RotationCampaign(Base):
    """A county's rotation campaign for one school year (one a county and year), with its
    targets, eligibility rules and dates. Its steps are the transitions of its case."""

    __tablename__ = "rotation_campaigns"
    __table_args__ = (UniqueConstraint("county_id", "year", name="uq_rotation_campaigns_year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # targets: at least this share of the eligible rotate, backbone teachers at least this
    # share of those rotated
    target_percent: Mapped[int] = mapped_column(Integer, default=10)
    backbone_percent: Mapped[int] = mapped_column(Integer, default=20)
    # eligibility: years at the same school (teachers; principals after so many terms)
    min_years: Mapped[int] = mapped_column(Integer, default=6)
    principal_terms: Mapped[int] = mapped_column(Integer, default=2)
    principal_term_years: Mapped[int] = mapped_column(Integer, default=3)
    eligible_as_of: Mapped[dt.date] = mapped_column(Date)  # years at the school counted to
    term_years: Mapped[int] = mapped_column(Integer, default=3)
    preferences_open: Mapped[dt.date] = mapped_column(Date)
    preferences_close: Mapped[dt.date] = mapped_column(Date)
    confirm_by: Mapped[dt.date] = mapped_column(Date)
    publicity_days: Mapped[int] = mapped_column(Integer, default=5)
    remind_days: Mapped[int] = mapped_column(Integer, default=20)  # working days before term end
    exemption_kinds: Mapped[list[Any]] = mapped_column(JSON)
    eligibility_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    run: Mapped[int] = mapped_column(Integer, default=0)  # matching runs so far
    seed: Mapped[int | None] = mapped_column(BigInteger)  # the current result's lottery seed
    matched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    posts_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    shortfall_reason: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)


class RotationPost(Base):
    """A receiving post: places for one subject and level at one school, some of them kept
    for backbone teachers first. Whether the school is rural or weak is its org unit's."""

    __tablename__ = "rotation_posts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "school_id", "subject", "level", name="uq_rotation_posts"),
        CheckConstraint(
            "places >= 0 AND reserved >= 0 AND reserved <= places", name="ck_rotation_posts_places"
        ),
    )  # fmt: skip
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("rotation_campaigns.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    subject: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    places: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class RotationEligible(Base):
    """A teacher on a campaign's eligible list, as the records said when it was computed,
    and what became of them: exempted (the approved exemption's case), volunteered (stated
    preferences), nominated by the school."""

    __tablename__ = "rotation_eligible"
    __table_args__ = (Index("ix_rotation_eligible_school", "campaign_id", "school_id"),)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("rotation_campaigns.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    subject: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    joined_school_on: Mapped[dt.date] = mapped_column(Date)
    backbone_level: Mapped[str | None] = mapped_column(String(16))
    principal: Mapped[bool] = mapped_column(Boolean, default=False)
    exempt_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    exempt_kind: Mapped[str | None] = mapped_column(String(32))
    volunteered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    nominated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    nominated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class RotationPreference(Base):
    """One of a teacher's (at most three) preferred receiving posts, by rank."""

    __tablename__ = "rotation_preferences"
    __table_args__ = (
        UniqueConstraint(
            "campaign_id", "person_id", "post_id", name="uq_rotation_preferences_post"
        ),
        CheckConstraint("rank BETWEEN 1 AND 3", name="ck_rotation_preferences_rank"),
    )  # fmt: skip
    campaign_id: Mapped[int] = mapped_column(ForeignKey("rotation_campaigns.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("rotation_posts.id"))


class RotationSchoolList(Base):
    """A sending school's confirmation of its list (who it sends: volunteers, then those
    it nominated), with who confirmed it and how many were on it."""

    __tablename__ = "rotation_school_lists"
    campaign_id: Mapped[int] = mapped_column(ForeignKey("rotation_campaigns.id"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    selected: Mapped[int] = mapped_column(Integer)
    confirmed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class RotationPlacement(Base):
    """A teacher's line in the current matching result: the post they go to (none when no
    place fits), how (which preference, which slot, or 调剂 and its cost), in which run,
    and, once published, their rotation case. One per teacher and campaign, enforced by the
    database; a re-run before publication replaces the lines."""

    __tablename__ = "rotation_placements"
    __table_args__ = (
        UniqueConstraint("campaign_id", "person_id", name="uq_rotation_placements_teacher"),
        Index("ix_rotation_placements_post", "post_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("rotation_campaigns.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    from_school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("rotation_posts.id"))
    run: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(24))  # deferred_acceptance | adjustment | unplaced
    slot: Mapped[str | None] = mapped_column(String(16))  # open | reserved
    rank: Mapped[int | None] = mapped_column(Integer)  # which preference, if one
    cost: Mapped[int | None] = mapped_column(Integer)  # the 调剂 cost
    backbone: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
