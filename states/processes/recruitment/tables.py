"""Recruitment's own tables: the round, the posts a county declares and their seats at
schools, and each applicant's record beside their case. They join the one schema through
the shared declarative base; the migrations that create them are the project's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
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


class Applicant(Base):
    """An applicant's record beside their case. (round, ID number) is unique: one
    application per person per round, enforced by the database."""

    __tablename__ = "applicants"
    __table_args__ = (
        UniqueConstraint("round_id", "id_number"),
        Index("ix_applicants_post_written", "post_id", "written_score"),
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("recruitment_rounds.id"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))
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
