"""The compliance package's own tables: the findings the automated checks open and close,
the yearly ethics pledge (师德承诺书) of each teacher, and the honour certificates for 30
years in rural schools (乡村学校从教30年荣誉证书) the province or city has issued. They join
the one schema through the shared declarative base (``ProcessPackage.tables``); migration
0026 creates them.

What the database itself guarantees, whatever the code does: one open finding per rule and
subject (a partial unique index — a check run twice, or two runs at once, cannot open a
second), one pledge per teacher and school year, one honour certificate per teacher.

A finding's explanations (情况说明) are kept one row each, never changed; a finding closed by
hand (人工销号) keeps who closed it, for which unit and why. Migration 0029 adds both.

The pledge's clauses of a school year, as the province sets them (``PledgeText``, migration
0030): a year without a row uses the default clauses in ``pledge.PLEDGES``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
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

OPEN = text("closed_at IS NULL")
BY_HAND = text("closed_by IS NOT NULL")


class ComplianceFinding(Base):
    """One subject (a teacher, a unit, a case) found breaking one rule, from the run that
    first found it until the run that no longer does (or the act that mended it, such as
    the teacher signing the pledge). ``unit_path`` copies the answering unit's path, so a
    board's scope is one indexed prefix scan."""

    __tablename__ = "compliance_findings"
    __table_args__ = (
        Index(
            "uq_compliance_findings_open",
            "rule",
            "subject_kind",
            "subject_id",
            unique=True,
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        Index(
            "ix_compliance_findings_open_path",
            "unit_path",
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        ),
        Index("ix_compliance_findings_closed", "closed_at"),
        # the findings closed by hand, which keep a check from opening them again this year
        Index(
            "ix_compliance_findings_by_hand",
            "rule",
            "subject_kind",
            "subject_id",
            "closed_at",
            sqlite_where=BY_HAND,
            postgresql_where=BY_HAND,
        ),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule: Mapped[str] = mapped_column(String(48))
    subject_kind: Mapped[str] = mapped_column(String(8))  # teacher | unit | case
    subject_id: Mapped[int] = mapped_column(BigInteger)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    unit_path: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_how: Mapped[str | None] = mapped_column(String(64))
    # closed by hand (人工销号): by whom, as the officer of which unit, and why; None when the
    # data (or the act that mended it) closed it
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    closed_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    close_reason: Mapped[str | None] = mapped_column(Text)


class ComplianceNote(Base):
    """An explanation (情况说明) recorded on an open finding by an officer of the unit that
    answers for it or of a unit above: why it cannot be mended yet, and optionally by when
    it will be (``until``). Appended, never changed: the finding's history."""

    __tablename__ = "compliance_notes"
    __table_args__ = (Index("ix_compliance_notes_finding", "finding_id", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("compliance_findings.id"))
    text: Mapped[str] = mapped_column(Text)
    until: Mapped[dt.date | None] = mapped_column(Date)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    author_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class EthicsPledge(Base):
    """A teacher's ethics pledge for one school year (``year``: the year it starts), issued
    to every teacher in service and signed by the teacher on the pledge page. ``text_sha256``
    is the SHA-256 of the pledge text exactly as the teacher read it when signing."""

    __tablename__ = "ethics_pledges"
    __table_args__ = (
        UniqueConstraint("person_id", "year", name="uq_ethics_pledges_year"),
        Index("ix_ethics_pledges_unsigned", "year", "signed_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    year: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    text_sha256: Mapped[str | None] = mapped_column(String(64))
    signer_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class RuralHonour(Base):
    """The honour certificate for 30 years of teaching in rural schools, as issued to one
    teacher (once in a career): its number and date, the unit that issued it, who recorded
    it here and when."""

    __tablename__ = "rural_honours"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    cert_no: Mapped[str] = mapped_column(String(32))
    issued_on: Mapped[dt.date] = mapped_column(Date)
    issuer_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PledgeText(Base):
    """The clauses of one school year's ethics pledge as the province's teacher-affairs
    office set them (``year``: the year it starts), who set them last and when. Changed only
    while no teacher has signed that year's pledge: every signed digest is of this text."""

    __tablename__ = "pledge_texts"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    clauses: Mapped[list[str]] = mapped_column(JSON)
    set_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    set_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


TABLES = (ComplianceFinding, ComplianceNote, EthicsPledge, RuralHonour, PledgeText)
