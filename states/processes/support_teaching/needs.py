"""Receiving schools' needs (支教需求): declared by the school's personnel officer (opened and
submitted in one transaction, so a need the rules refuse leaves nothing behind), approved by
the county — the city for a paired region — and listed on the board and for the teachers and
schools who may answer them. A need takes candidates until the approver closes it
(结束受理) or its term begins: the daily check ``end_intake`` then closes it by the same step.

Rows: ``NeedRow(case_id, version, state, state_label, school_id, school, county_id, county,
paired, region, subject, level, level_label, places, filled, starts_on, ends_on, note,
year)``; ``BoardRow(county_id, county, school_id, school, paired, declared, approved, places,
filled, on_site)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select

from states.clock import local_date
from states.engine import CaseEngine, DueStep, FireResult
from states.engine.effects import EffectScope
from states.engine.outbox import notice, send
from states.errors import FormError, NotFound, PermissionDenied
from states.org import SCHOOL_OFFICER, SCOPE_ROLES, SYSTEM, TEACHER, Actor, path_ids
from states.processes.support_teaching.facts import region_of
from states.processes.support_teaching.machine import NEED, TERM, NeedMachine
from states.processes.support_teaching.rules import LEVELS, cn_date
from states.processes.support_teaching.spec import (
    NEED_APPROVED_NOTICE,
    NEED_FORM,
    NeedNotice,
)
from states.processes.support_teaching.tables import SupportNeed, SupportTerm
from states.store.models import Case, OrgUnit, Teacher, table_of

needs_t, terms_t, cases_t = table_of(SupportNeed), table_of(SupportTerm), table_of(Case)
units_t, teachers_t = table_of(OrgUnit), table_of(Teacher)
# Needs that count as declared on the board: submitted at least (a draft never outlives
# its transaction; a withdrawn one was taken back).
DECLARED = ("review", "approved", "filled_up", "finished", "rejected")
APPROVED = ("approved", "filled_up", "finished")
# Approved and not closed: taking candidates (approved) or full until a place comes back.
STANDING = ("approved", "filled_up")


@dataclass(frozen=True)
class NeedRow:
    case_id: int
    version: int
    state: str
    state_label: str
    school_id: int
    school: str
    county_id: int | None
    county: str
    paired: bool
    region: str | None
    subject: str
    level: str
    level_label: str
    places: int
    filled: int
    starts_on: dt.date
    ends_on: dt.date
    note: str
    year: int

    @property
    def label(self) -> str:
        return f"{self.school}{self.level_label}{self.subject}"

    @property
    def left(self) -> int:
        return max(0, self.places - self.filled)

    @property
    def full(self) -> bool:
        """已满额: every place taken (the need's own state says so)."""
        return self.state == "filled_up"


@dataclass(frozen=True)
class BoardRow:
    county_id: int | None
    county: str
    school_id: int
    school: str
    paired: bool
    declared: int
    approved: int
    places: int
    filled: int
    on_site: int


def _ancestor(conn: Connection, path: str, tier: str) -> tuple[int, str] | None:
    found = conn.execute(
        select(units_t.c.id, units_t.c.name)
        .where(units_t.c.id.in_(path_ids(path)), units_t.c.tier == tier)
        .limit(1)
    ).first()
    return (int(found.id), str(found.name)) if found is not None else None


def declare_need(
    engine: CaseEngine,
    actor: Actor,
    form: Mapping[str, Any],
    *,
    school_id: int | None = None,
) -> FireResult:
    """The receiving school's need, opened and submitted to the approver in one transaction.
    ``school_id``: which school, for an officer of several (their first school otherwise)."""
    schools = [b.unit_id for b in actor.bindings if b.role == SCHOOL_OFFICER]
    if school_id is None:
        if not schools:
            raise PermissionDenied("支教需求须由接收学校的人事干部申报")
        school_id = schools[0]
    elif school_id not in schools:
        raise PermissionDenied("支教需求须由接收学校的人事干部申报")
    data = NEED_FORM.validate(form)
    data.pop("comment", None)
    with engine.db.begin() as conn:
        school = conn.execute(
            select(units_t.c.id, units_t.c.name, units_t.c.path, units_t.c.tier).where(
                units_t.c.id == school_id
            )
        ).one_or_none()
        if school is None or school.tier != "school":
            raise NotFound("学校不存在")
        county = _ancestor(conn, school.path, "county")
        city = _ancestor(conn, school.path, "city")
        region = region_of(conn, school.path)
        starts = dt.date.fromisoformat(str(data["starts_on"]))
        data.update(
            school=str(school.name), school_id=int(school.id),
            county=county[1] if county else (city[1] if city else ""),
            county_id=county[0] if county else None, city_id=city[0] if city else None,
            paired=region is not None, region=region[1] if region else None,
            level_label=LEVELS[str(data["level"])], year=starts.year,
        )  # fmt: skip
        [case_id] = engine.open_many(NEED, [(int(school.id), data)], actor, conn=conn,
                                     year=starts.year)  # fmt: skip
        conn.execute(
            insert(needs_t).values(
                case_id=case_id, school_id=int(school.id), county_id=data["county_id"],
                city_id=data["city_id"], paired=bool(data["paired"]),
                subject=str(data["subject"]), level=str(data["level"]),
                places=int(data["places"]), filled=0, starts_on=starts,
                ends_on=dt.date.fromisoformat(str(data["ends_on"])), year=starts.year,
            )
        )  # fmt: skip
        return engine.fire_in(conn, case_id, "submit", actor, expected_version=1)


def end_intake(engine: Any) -> dict[str, int]:
    """The scheduled check ``support_need_intake`` (daily): a need stops taking candidates
    once its term has begun. Every approved or full need whose start date has passed is
    closed by the system with the approver's own step (``close_need``, 结束受理) — the same
    transition, so whatever closing does it does either way — found in one read and fired
    through the engine with an idempotency key: a re-run, or two at once, closes each once."""
    today = local_date(engine.clock.now())
    with engine.db.connect() as conn:
        due = conn.execute(
            select(cases_t.c.id, cases_t.c.version, needs_t.c.starts_on)
            .join(needs_t, needs_t.c.case_id == cases_t.c.id)
            .where(cases_t.c.process == NEED, cases_t.c.state.in_(STANDING),
                   needs_t.c.starts_on < today)
            .order_by(cases_t.c.id)
        ).all()  # fmt: skip
    closed = engine.fire_due(
        DueStep(int(r.id), int(r.version), "close_need", f"support-close_need:{r.id}",
            {"reason": f"支教期已于{cn_date(r.starts_on)}开始，系统自动结束受理"})
        for r in due
    )["close_need"]  # fmt: skip
    return {"closed": closed} if closed else {}


def need_notice(scope: EffectScope, cmd: NeedNotice) -> None:
    """The school hears the approver's decision on its need (a need has no applicant for the
    engine's own notice to go to)."""
    ctx = scope.ctx
    data = ctx.data
    starts = dt.date.fromisoformat(str(data["starts_on"]))
    ends = dt.date.fromisoformat(str(data["ends_on"]))
    what = f"{data.get('level_label', '')}{data.get('subject', '')}{data.get('places', '')}名"
    if cmd.kind == NEED_APPROVED_NOTICE:
        detail = f"{what}，支教期{cn_date(starts)}至{cn_date(ends)}；已开始受理报名和推荐"
    else:
        detail = f"{what}；理由：{scope.record.get('reason', '')}"
    payload = {
        "support_school": str(data.get("school", "")),
        "support_detail": detail,
        "support_date": starts.isoformat(),
    }
    send(
        scope.conn,
        notice(ctx.case.id, cmd.kind, ctx.now, payload, role=SCHOOL_OFFICER,
               unit_id=ctx.case.org_unit_id),
    )  # fmt: skip


# --- reading ----------------------------------------------------------------------------------
_county = units_t.alias("county")
_school = units_t.alias("school")
NEEDS = (
    select(
        needs_t, cases_t.c.version, cases_t.c.state, cases_t.c.data,
        _school.c.name.label("school"), _school.c.path.label("school_path"),
        _county.c.name.label("county"),
    )
    .join(cases_t, cases_t.c.id == needs_t.c.case_id)
    .join(_school, _school.c.id == needs_t.c.school_id)
    .outerjoin(_county, _county.c.id == needs_t.c.county_id)
)  # fmt: skip


def _row(r: Any) -> NeedRow:
    return NeedRow(
        case_id=int(r.case_id), version=int(r.version), state=str(r.state),
        state_label=str(getattr(NeedMachine, r.state).name), school_id=int(r.school_id),
        school=str(r.school), county_id=r.county_id, county=str(r.county or ""),
        paired=bool(r.paired), region=(r.data or {}).get("region"), subject=str(r.subject),
        level=str(r.level), level_label=LEVELS.get(r.level, r.level), places=int(r.places),
        filled=int(r.filled), starts_on=r.starts_on, ends_on=r.ends_on,
        note=str((r.data or {}).get("note") or ""), year=int(r.year),
    )  # fmt: skip


def _scoped(actor: Actor) -> Any:
    """Needs at schools in the actor's subtree (an officer, a principal, an inspector)."""
    if actor.holds(SYSTEM):
        return None
    paths = actor.scopes(SCOPE_ROLES)
    if not paths:
        return False
    return or_(*(_school.c.path.startswith(p, autoescape=True) for p in paths))


def needs(conn: Connection, actor: Actor, year: int) -> list[NeedRow]:
    """The year's needs the actor oversees, school by school (drafts left out)."""
    where = _scoped(actor)
    if where is False:
        return []
    query = NEEDS.where(needs_t.c.year == year, cases_t.c.state != "draft")
    if where is not None:
        query = query.where(where)
    return [_row(r) for r in conn.execute(query.order_by(_county.c.name, _school.c.name,
                                                         needs_t.c.case_id))]  # fmt: skip


def need(conn: Connection, need_id: int) -> NeedRow:
    r = conn.execute(NEEDS.where(needs_t.c.case_id == need_id)).one_or_none()
    if r is None:
        raise FormError("need_id", f"支教需求{need_id}不存在")
    return _row(r)


def board(conn: Connection, actor: Actor, year: int) -> list[BoardRow]:
    """The needs board: per receiving school, the needs declared and approved, their places,
    how many are filled and how many teachers are on site now."""
    rows = needs(conn, actor, year)
    on_site: dict[int, int] = {}
    if rows:
        ids = [r.case_id for r in rows]
        for need_id, n in conn.execute(
            select(terms_t.c.need_id, func.count())
            .join(cases_t, cases_t.c.id == terms_t.c.case_id)
            .where(cases_t.c.process == TERM, cases_t.c.state == "on_site",
                   terms_t.c.need_id.in_(ids))
            .group_by(terms_t.c.need_id)
        ).tuples():  # fmt: skip
            on_site[int(need_id)] = int(n)
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        line = out.setdefault(
            r.school_id,
            {"county_id": r.county_id, "county": r.county, "school_id": r.school_id,
             "school": r.school, "paired": r.paired, "declared": 0, "approved": 0,
             "places": 0, "filled": 0, "on_site": 0},
        )  # fmt: skip
        if r.state in DECLARED:
            line["declared"] += 1
        if r.state in APPROVED:
            line["approved"] += 1
            line["places"] += r.places
            line["filled"] += r.filled
        line["on_site"] += on_site.get(r.case_id, 0)
    return [BoardRow(**line) for line in out.values()]


def _homes(conn: Connection, actor: Actor) -> list[str]:
    """Where the actor answers a need from: a teacher's own school, a school officer's."""
    homes = [b.unit_path for b in actor.bindings if b.role == SCHOOL_OFFICER]
    if actor.person_id is not None and (actor.holds(TEACHER) or not actor.bindings):
        found = conn.execute(
            select(units_t.c.path)
            .join(teachers_t, teachers_t.c.school_id == units_t.c.id)
            .where(teachers_t.c.person_id == actor.person_id)
        ).scalar()
        if found is not None:
            homes.append(str(found))
    return homes


def open_needs(conn: Connection, actor: Actor, *, today: dt.date | None = None) -> list[NeedRow]:
    """The approved needs the actor may answer — full ones too (已满额: a candidate waits for a
    place given back) —: a teacher or a school those of their county (of their city, for a
    paired region's); an officer those in their subtree. ``today``: needs whose term has
    begun are left out."""
    query = NEEDS.where(cases_t.c.state.in_(STANDING))
    if today is not None:
        query = query.where(needs_t.c.starts_on >= today)
    rows = conn.execute(query.order_by(needs_t.c.starts_on, needs_t.c.case_id)).all()
    if actor.holds(SYSTEM):
        return [_row(r) for r in rows]
    areas = dict(
        conn.execute(
            select(units_t.c.id, units_t.c.path).where(
                units_t.c.id.in_(
                    {int(r.city_id if r.paired else r.county_id or r.city_id) for r in rows}
                )
            )
        )
        .tuples()
        .all()
    )
    homes = _homes(conn, actor)
    over = actor.scopes(SCOPE_ROLES - {SCHOOL_OFFICER})
    out = []
    for r in rows:
        area = areas.get(int(r.city_id if r.paired else r.county_id or r.city_id), "\0")
        if any(h.startswith(area) and h != r.school_path for h in homes) or any(
            r.school_path.startswith(p) for p in over
        ):
            out.append(_row(r))
    return out
