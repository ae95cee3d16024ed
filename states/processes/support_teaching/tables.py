"""Support teaching's own tables: the paired regions a city supports, the receiving schools'
needs, the teachers' terms, their monthly check-ins and the corrections of filed months. They
join the one schema through the shared declarative base (``ProcessPackage.tables``); migration
0025 creates them, 0028 the corrections.

The case rows stay the truth of where each need, application and term stands; these tables
hold what the board, the sweep and the rules query by column (dates, places, who and where),
kept in step by the effects of the same transitions.

What the database itself guarantees, whatever the code does: a need never has more teachers
than places (``ck_support_needs_places``, and selection takes a place with one guarded
UPDATE), and a term has one check-in a month (``uq_support_checkins_month``), so two sweeps
at once never open the same month twice.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
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


class SupportRegion(Base):
    """A paired region (对口支援地区, e.g. 新疆和田县) a city supports: a county-tier unit of the
    org tree placed under the pairing city. Its schools declare needs like rural schools, and
    the city, not a county, approves them and selects the teachers from all its counties."""

    __tablename__ = "support_regions"
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    registered_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class SupportNeed(Base):
    """A receiving school's need (its case is the need's own): how many teachers of which
    subject and level, for which term, and how many places are taken."""

    __tablename__ = "support_needs"
    __table_args__ = (
        CheckConstraint(
            "places BETWEEN 1 AND 50 AND filled >= 0 AND filled <= places",
            name="ck_support_needs_places",
        ),
        Index("ix_support_needs_county", "county_id", "year"),
        Index("ix_support_needs_city", "city_id", "year"),
        Index("ix_support_needs_school", "school_id"),
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    # the county above the school (the paired region's unit for a paired school); none for
    # a school directly under a city
    county_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    city_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    paired: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(16))
    places: Mapped[int] = mapped_column(Integer)
    filled: Mapped[int] = mapped_column(Integer, default=0)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)


class SupportTerm(Base):
    """A selected teacher's term (its case is the term's own), from publicity to return:
    where from and where to, the planned dates, the day dispatched, the day it ended (early
    or not), the receiving school's assessment and the ledger entry it earned."""

    __tablename__ = "support_terms"
    __table_args__ = (
        Index("ix_support_terms_teacher", "teacher_id"),
        Index("ix_support_terms_receiving", "receiving_school_id"),
        Index("ix_support_terms_need", "need_id"),
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("support_needs.case_id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    sending_school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    receiving_school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    dispatched_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_early: Mapped[bool] = mapped_column(Boolean, default=False)
    # excellent | competent | basic | incompetent (states.registry.service.ASSESSMENTS)
    assessment: Mapped[str | None] = mapped_column(String(16))
    credit_id: Mapped[int | None] = mapped_column(ForeignKey("service_credits.id"))
    # the last month the check-in sweep has opened for the term: each run looks only at the
    # months after it (a term back on site after a refused termination catches up)
    checkins_through: Mapped[dt.date | None] = mapped_column(Date)


class SupportCheckin(Base):
    """One month of a term on site, reported by the receiving school: opened with a task
    (due five working days after the month ends), then submitted — or missed when the term
    left the site with it still open."""

    __tablename__ = "support_checkins"
    __table_args__ = (
        UniqueConstraint("term_case_id", "month", name="uq_support_checkins_month"),
        Index("ix_support_checkins_task", "task_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    term_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    month: Mapped[dt.date] = mapped_column(Date)  # its first day
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    status: Mapped[str] = mapped_column(String(16))  # open | submitted | missed
    attendance_days: Mapped[int | None] = mapped_column(Integer)
    teaching_hours: Mapped[int | None] = mapped_column(Integer)
    assessment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class SupportCheckinCorrection(Base):
    """A filed month corrected by the receiving school (its term's ``correct_checkin``
    event, which carries the same on its audit row): the values before and after — a value
    not corrected is the same on both sides — why, by whom and when. Oldest first per
    month, the history of what the month said."""

    __tablename__ = "support_checkin_corrections"
    __table_args__ = (Index("ix_support_checkin_corrections_checkin", "checkin_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    checkin_id: Mapped[int] = mapped_column(ForeignKey("support_checkins.id"))
    term_case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    was_attendance_days: Mapped[int | None] = mapped_column(Integer)
    was_teaching_hours: Mapped[int | None] = mapped_column(Integer)
    was_assessment: Mapped[str | None] = mapped_column(Text)
    attendance_days: Mapped[int | None] = mapped_column(Integer)
    teaching_hours: Mapped[int | None] = mapped_column(Integer)
    assessment: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    corrected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    corrected_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
