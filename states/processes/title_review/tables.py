"""Title review's own table: each province's title-review year and its declaration window.

It joins the one schema through the shared declarative base (``ProcessPackage.tables``);
the migration that creates it is the project's (0017).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from states.store.models import Base, BigId, UTCDateTime


class TitleReviewYear(Base):
    """A province's title-review year (职称评审年度): teachers declare between ``opens_on``
    and ``closes_on`` (both days included), until the province closes it (``closed_at``).
    One per province and year; no row, no declarations."""

    __tablename__ = "title_review_years"
    __table_args__ = (UniqueConstraint("province_id", "year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    opens_on: Mapped[dt.date] = mapped_column(Date)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    # who opened it and when; empty for a year the demo data opened
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
