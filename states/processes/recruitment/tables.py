"""Recruitment's own tables: the round, the posts a county declares and their seats at
schools, and each applicant's record beside their case. They join the one schema through
the shared declarative base; the migrations that create them are the project's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from states.store.models import Base, BigId, UTCDateTime


class RecruitmentRound(Base):
    """One year's recruitment: its policy (weights, shortlist ratio) and its dates."""

    __tablename__ = "recruitment_rounds"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    written_weight: Mapped[float] = mapped_column(Float, default=0.5)
    shortlist_ratio: Mapped[int] = mapped_column(Integer, default=3)  # 1:3 for interview
    registration_opens: Mapped[dt.date] = mapped_column(Date)
    registration_closes: Mapped[dt.date] = mapped_column(Date)
    replacement_deadline: Mapped[dt.date | None] = mapped_column(Date)
    max_age: Mapped[int] = mapped_column(Integer, default=35)
    # the announcement applicants read on the registration page (招聘公告)
    announcement: Mapped[str | None] = mapped_column(Text)
    # registration closed by the province before its last day (or on it), when it was
    registration_closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Post(Base):
    """A recruitment post (岗位) a county declares: subject and level, how many, and what an
    applicant must have. Its approved count is a quota the hiring step cannot exceed."""

    __tablename__ = "posts"
    __table_args__ = (UniqueConstraint("round_id", "code"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("recruitment_rounds.id"), index=True)
    plan_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(32))
    school_level: Mapped[str] = mapped_column(String(16))
    count: Mapped[int] = mapped_column(Integer)
    min_education: Mapped[str] = mapped_column(String(16))
    cert_required: Mapped[bool] = mapped_column(Boolean, default=True)
    # Open for registration exactly when its plan case is approved: no status of its own.


class PostSeat(Base):
    """Where a post's hires go: so many places at a school, chosen in rank order."""

    __tablename__ = "post_seats"
    __table_args__ = (UniqueConstraint("post_id", "school_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    seats: Mapped[int] = mapped_column(Integer)
    taken: Mapped[int] = mapped_column(Integer, default=0)


# A registration voided as squatted no longer holds its ID number or its phone. Both
# databases read this partial-index predicate the same way.
LIVE = text("voided_at IS NULL")


class Applicant(Base):
    """An applicant's record beside their case. The database enforces one live
    registration per (year, ID number) — a person applies once a year, whichever of the
    year's rounds — and, for registrations made online, one per (round, confirmed phone); a
    registration voided as squatted (``voided_at``) holds neither, so the real person can
    register afterwards. ``year`` is the round's, kept on the row for that index.

    ``confirmed_phone`` is the mobile that proved its SMS code at an online registration
    and always equals ``phone`` (a check constraint); an officer's import lists a phone no
    one proved, and leaves it empty: families and schools often give one number for
    several people, so imports are not bound by the one-phone rule."""

    __tablename__ = "applicants"
    __table_args__ = (
        Index("ix_applicants_post_written", "post_id", "written_score"),
        # Every step reads a round's applicants, by ID number or all of them; the unique
        # indexes below are partial, which a planner uses only when a query repeats their
        # predicate.
        Index("ix_applicants_round_id_number", "round_id", "id_number"),
        # A candidate looks up their registrations of every round by ID number (and phone).
        Index("ix_applicants_id_number", "id_number"),
        Index(
            "uq_applicants_year_id_number",
            "year",
            "id_number",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index(
            "uq_applicants_round_phone",
            "round_id",
            "confirmed_phone",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        CheckConstraint(
            "confirmed_phone IS NULL OR confirmed_phone = phone",
            name="ck_applicants_confirmed_phone",
        ),
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("recruitment_rounds.id"))
    year: Mapped[int] = mapped_column(Integer)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
    confirmed_phone: Mapped[str | None] = mapped_column(String(20))
    gender: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[dt.date] = mapped_column(Date)
    education: Mapped[str] = mapped_column(String(16))
    cert_level: Mapped[str | None] = mapped_column(String(16))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    written_score: Mapped[float | None] = mapped_column(Float)
    interview_score: Mapped[float | None] = mapped_column(Float)
    composite: Mapped[float | None] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    choice_turn: Mapped[int | None] = mapped_column(Integer)  # rank, pushed back when skipped
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("post_seats.id"))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RegistrationConflict(Base):
    """An ID number already registered, claimed from another confirmed phone: the one of
    the two who is not its holder squatted it. The claimant is told to come to the
    recruitment office with their ID card; officers see the claim at the qualification
    check and settle it through the engine on the existing case — voided as squatted, or
    confirmed as genuine — which stamps ``resolved_at`` and ``resolution``."""

    __tablename__ = "registration_conflicts"
    __table_args__ = (Index("ix_registration_conflicts_round", "round_id", "resolved_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("recruitment_rounds.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    id_number: Mapped[str] = mapped_column(String(18))
    claimed_name: Mapped[str] = mapped_column(String(64))
    # in full: the officer calls this number to ask the claimant in
    claimed_phone: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(String(16))  # voided | confirmed
