"""Rotation's automated compliance check (合规检查): each county's published campaign of the
current school year meets its targets — at least the target share of the eligible rotate
(each sending school's required count, added up: ceil(10% × eligible), exemptions left out)
and backbone teachers are at least their share of those rotated. Declared here, over
rotation's own tables; the compliance package's runner turns a county below target into a
finding for the county and closes it once the published result meets the targets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, Integer, String, and_, case, cast, func, literal, or_, select

from states.process.package import ComplianceRule, Schedule
from states.processes.rotation.tables import RotationCampaign, RotationEligible, RotationPlacement
from states.store.models import Case, table_of

campaigns_t, eligible_t = table_of(RotationCampaign), table_of(RotationEligible)
placements_t, cases_t = table_of(RotationPlacement), table_of(Case)

# A campaign whose result is published (and one closed after it): its placements stand.
PUBLISHED = ("published", "wound_up")


def _school_year(day: dt.date) -> int:
    return day.year if day.month >= 9 else day.year - 1


def _ceil_share(n: Any, percent: Any) -> Any:
    """ceil(n × percent%) in whole numbers, as rotation's ``share`` does."""
    return (n * percent + 99) // 100


def short_of_targets(conn: Connection, today: dt.date) -> Any:
    """Counties whose published campaign of this school year is below its target count or
    its backbone share: (county, county, what is short)."""
    e, p, c, k = eligible_t, placements_t, campaigns_t, cases_t
    placed = p.c.post_id.is_not(None)

    def count(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    schools = (
        select(
            e.c.campaign_id,
            e.c.school_id,
            count(e.c.exempt_case_id.is_(None)).label("eligible"),
            count(placed).label("placed"),
            count(and_(placed, p.c.backbone)).label("backbone"),
        )
        .select_from(e)
        .join(c, c.c.id == e.c.campaign_id)
        .join(k, k.c.id == c.c.case_id)
        .outerjoin(p, and_(p.c.campaign_id == e.c.campaign_id, p.c.person_id == e.c.person_id))
        .where(c.c.year == _school_year(today), k.c.state.in_(PUBLISHED))
        .group_by(e.c.campaign_id, e.c.school_id)
        .subquery()
    )

    def total(col: Any) -> Any:  # whole numbers (PostgreSQL's sum of integers is numeric)
        return cast(func.sum(col), Integer)

    totals = (
        select(
            schools.c.campaign_id,
            total(_ceil_share(schools.c.eligible, c.c.target_percent)).label("required"),
            total(schools.c.placed).label("placed"),
            total(schools.c.backbone).label("backbone"),
        )
        .join(c, c.c.id == schools.c.campaign_id)
        .group_by(schools.c.campaign_id)
        .subquery()
    )
    need = _ceil_share(totals.c.placed, c.c.backbone_percent)

    def n(col: Any) -> Any:
        return cast(col, String)

    detail = (
        cast(c.c.year, String)
        + literal("学年交流轮岗：应交流")
        + n(totals.c.required)
        + literal("人，已交流")
        + n(totals.c.placed)
        + literal("人；骨干教师应至少")
        + n(need)
        + literal("人，现为")
        + n(totals.c.backbone)
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
