"""Rotation's automated compliance checks (合规检查) over each county's published campaign of
the current school year, declared here over rotation's own tables; the compliance package's
runner turns each hit into a finding and closes it once the published result meets the target.

- ``TARGETS``: the county — at least the target share of the eligible rotate (each sending
  school's required count, added up: ceil(10% × eligible), exemptions left out) and backbone
  teachers are at least their share of those rotated;
- ``SCHOOL_TARGETS``: each sending school — placed at least its own required count, the
  shortfall the campaign's result page lists school by school.

Both read each school's numbers from ``lists.school_numbers`` (the one definition the
campaign's pages read too), for every published campaign of the year in one statement."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Integer, String, cast, func, literal, or_, select

from states.process.package import ComplianceRule, Schedule
from states.processes.rotation.campaigns import school_year
from states.processes.rotation.lists import school_numbers
from states.processes.rotation.tables import RotationCampaign, RotationEligible
from states.store.models import Case, table_of

campaigns_t, eligible_t = table_of(RotationCampaign), table_of(RotationEligible)
cases_t = table_of(Case)

# A campaign whose result is published (and one closed after it): its placements stand.
PUBLISHED = ("published", "wound_up")


def _ceil_share(n: Any, percent: Any) -> Any:
    """ceil(n × percent%) in whole numbers: rotation's ``rules.share`` in SQL."""
    return (n * percent + 99) // 100


def _n(col: Any) -> Any:
    return cast(col, String)


def _published_schools(today: dt.date) -> Any:
    """Each sending school's numbers in the published campaigns of ``today``'s school year."""
    c, k = campaigns_t, cases_t
    published = (
        select(c.c.id)
        .join(k, k.c.id == c.c.case_id)
        .where(c.c.year == school_year(today), k.c.state.in_(PUBLISHED))
    )
    return school_numbers().where(eligible_t.c.campaign_id.in_(published)).subquery()


def short_of_targets(conn: Connection, today: dt.date) -> Any:
    """Counties whose published campaign of this school year is below its target count or
    its backbone share: (county, county, what is short)."""
    c = campaigns_t
    schools = _published_schools(today)

    def total(col: Any) -> Any:  # whole numbers (PostgreSQL's sum of integers is numeric)
        return cast(func.sum(col), Integer)

    totals = (
        select(
            schools.c.campaign_id,
            total(_ceil_share(schools.c.eligible, c.c.target_percent)).label("required"),
            total(schools.c.placed).label("placed"),
            total(schools.c.backbone_placed).label("backbone"),
        )
        .join(c, c.c.id == schools.c.campaign_id)
        .group_by(schools.c.campaign_id)
        .subquery()
    )
    need = _ceil_share(totals.c.placed, c.c.backbone_percent)

    detail = (
        cast(c.c.year, String)
        + literal("学年交流轮岗：应交流")
        + _n(totals.c.required)
        + literal("人，已交流")
        + _n(totals.c.placed)
        + literal("人；骨干教师应至少")
        + _n(need)
        + literal("人，现为")
        + _n(totals.c.backbone)
        + literal("人")
    )
    return (
        select(c.c.county_id, c.c.county_id, detail)
        .join(totals, totals.c.campaign_id == c.c.id)
        .where(or_(totals.c.placed < totals.c.required, totals.c.backbone < need))
    )


TARGETS = ComplianceRule(
    code="rotation_targets",
    label="交流轮岗比例未达标",
    subject="unit",
    hits=short_of_targets,
    advice="请县教育局对照交流比例和骨干教师比例补足人选，调整后重新公布结果或说明情况",
    schedule=Schedule(
        "合规检查：交流轮岗比例",
        "本学年已公布结果的交流轮岗，交流人数未达到交流比例或骨干教师比例的县（区），逐县登记问题；达标后销号。",
        "30 7 * * *",
    ),
)


def short_schools(conn: Connection, today: dt.date) -> Any:
    """Sending schools of a published campaign of this school year placed below their own
    required count (ceil(target% × eligible)): (school, school, what is short). A school
    with no eligible teacher left (all exempted) requires none and is never short."""
    c = campaigns_t
    s = _published_schools(today)
    required = _ceil_share(s.c.eligible, c.c.target_percent)
    detail = (
        _n(c.c.year)
        + literal("学年交流轮岗：应交流")
        + _n(required)
        + literal("人（符合条件")
        + _n(s.c.eligible)
        + literal("人的")
        + _n(c.c.target_percent)
        + literal("%），已交流")
        + _n(s.c.placed)
        + literal("人，差")
        + _n(required - s.c.placed)
        + literal("人")
    )
    return (
        select(s.c.school_id, s.c.school_id, detail)
        .join(c, c.c.id == s.c.campaign_id)
        .where(s.c.placed < required)
    )


SCHOOL_TARGETS = ComplianceRule(
    code="rotation_school_targets",
    label="交流轮岗学校比例未达标",
    subject="unit",
    hits=short_schools,
    advice="请学校会同县教育局人事股补足本校交流人选（可推荐本校符合条件的教师），县教育局重新匹配并公布结果，或说明情况",
    schedule=Schedule(
        "合规检查：交流轮岗学校比例",
        "本学年已公布结果的交流轮岗，交流人数少于本校应交流人数（符合条件人数的交流比例，向上取整）的学校，逐校登记问题；达标后销号。",
        "50 7 * * *",
    ),
)
