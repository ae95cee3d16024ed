"""The campaign's lists: who is eligible, computed from the records in one statement; the
list published to the teachers on it; each teacher's preferences; the schools' nominations
and confirmations; each sending school's required count; and who goes into the matching.

Eligibility reads the teacher records (``teachers``: their school, its subject and level,
``joined_school_on`` — when they joined the school —, ``status``, ``backbone_level``), the
org tree (schools of the county, not closed) and the role bindings (a ``principal`` bound at
the teacher's own school is judged by the principals' rule): a teacher is eligible with
``min_years`` full years at the school by ``eligible_as_of``, a principal with
``principal_terms`` × ``principal_term_years``. The years a principal has led the school
are not on record, so their years at the school stand for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from states.clock import local_date
from states.engine import CaseEngine
from states.engine.effects import EffectScope
from states.engine.outbox import notice, send_many
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.org import PRINCIPAL, SCHOOL_LEVELS, SCHOOL_OFFICER, SCOPE_ROLES, SYSTEM, Actor
from states.process.rules import full_years
from states.processes.rotation import campaigns
from states.processes.rotation.matching import Candidate
from states.processes.rotation.rules import (
    BACKBONE_RANK,
    SchoolCount,
    cn_date,
    years_before,
)
from states.processes.rotation.spec import ELIGIBLE_NOTICE, ComputeEligibility, PublishList
from states.processes.rotation.tables import (
    RotationCampaign,
    RotationEligible,
    RotationPlacement,
    RotationPost,
    RotationPreference,
    RotationSchoolList,
)
from states.store.models import OrgUnit, Person, RoleBinding, Teacher, table_of

campaigns_t, eligible_t = table_of(RotationCampaign), table_of(RotationEligible)
prefs_t, posts_t = table_of(RotationPreference), table_of(RotationPost)
lists_t, placements_t = table_of(RotationSchoolList), table_of(RotationPlacement)
teachers_t, units_t, people_t = table_of(Teacher), table_of(OrgUnit), table_of(Person)
bindings_t = table_of(RoleBinding)

MAX_PREFERENCES = 3
# The campaign's states in which teachers and schools still change who goes.
CHOOSING = ("preferences", "confirming", "matching")


def level_label(level: str) -> str:
    return SCHOOL_LEVELS.get(level, level)


# --- eligibility, set-based -------------------------------------------------------------------
def compute(conn: Connection, campaign: Any, county_path: str) -> tuple[int, int]:
    """The eligible list of the campaign, replacing the last one: one INSERT … SELECT over
    the county's teacher records. Returns (eligible, of whom principals)."""
    conn.execute(delete(eligible_t).where(eligible_t.c.campaign_id == campaign.id))
    t, u = teachers_t, units_t
    as_of = campaign.eligible_as_of
    teacher_cut = years_before(as_of, campaign.min_years)
    principal_cut = years_before(as_of, campaign.principal_terms * campaign.principal_term_years)
    principal = exists(
        select(bindings_t.c.id).where(
            bindings_t.c.person_id == t.c.person_id,
            bindings_t.c.role == PRINCIPAL,
            bindings_t.c.org_unit_id == t.c.school_id,
        )
    )
    # the county's open schools first, then their teachers by the school index: the roster
    # of a province is never scanned for one county
    schools = select(u.c.id).where(
        u.c.path.startswith(county_path, autoescape=True),
        u.c.tier == "school",
        u.c.closed_on.is_(None),
    )
    chosen = (
        select(
            literal(campaign.id), t.c.person_id, t.c.school_id, t.c.subject, t.c.school_level,
            t.c.joined_school_on, t.c.backbone_level, principal,
        )
        .where(
            t.c.school_id.in_(schools),
            t.c.status == "active",
            or_(
                and_(~principal, t.c.joined_school_on <= teacher_cut),
                and_(principal, t.c.joined_school_on <= principal_cut),
            ),
        )
    )  # fmt: skip
    conn.execute(
        insert(eligible_t).from_select(
            ["campaign_id", "person_id", "school_id", "subject", "level", "joined_school_on",
             "backbone_level", "principal"],
            chosen,
        )
    )  # fmt: skip
    counted = conn.execute(
        select(func.count(), func.coalesce(func.sum(case((eligible_t.c.principal, 1), else_=0)), 0))
        .where(eligible_t.c.campaign_id == campaign.id)
    ).one()  # fmt: skip
    return int(counted[0]), int(counted[1])


def compute_handler(scope: EffectScope, cmd: ComputeEligibility) -> None:
    """The campaign's ``compute_eligibility`` step: the list, and its size on the record."""
    conn = scope.conn
    c = campaigns.campaign_of_case(conn, scope.ctx.case.id, lock=True)
    county_path = conn.execute(
        select(units_t.c.path).where(units_t.c.id == c.county_id)
    ).scalar_one()
    eligible, principals = compute(conn, c, county_path)
    conn.execute(
        update(campaigns_t).where(campaigns_t.c.id == c.id).values(eligibility_at=scope.ctx.now)
    )
    scope.record.update(eligible=eligible, principals=principals)


def publish_list_handler(scope: EffectScope, cmd: PublishList) -> None:
    """The eligible list published: each teacher on it is told where they stand and until
    when they may state their preferences (an exemption's applicants included)."""
    conn = scope.conn
    c = campaigns.campaign_of_case(conn, scope.ctx.case.id)
    people = conn.execute(
        select(eligible_t.c.person_id).where(eligible_t.c.campaign_id == c.id)
    ).scalars()
    detail = f"志愿填报时间：{cn_date(c.preferences_open)}至{cn_date(c.preferences_close)}"
    rows = [
        notice(
            None,  # the list is read on the rotation pages, not on the campaign's case
            ELIGIBLE_NOTICE,
            scope.ctx.now,
            {
                "rotation_school": c.name,
                "rotation_detail": detail,
                "rotation_date": c.preferences_close.isoformat(),
            },
            person_id=int(p),
        )
        for p in people
    ]
    send_many(conn, rows)
    scope.record["notified"] = len(rows)


# --- reading the lists ------------------------------------------------------------------------
@dataclass(frozen=True)
class Listed:
    """A teacher on the eligible list, as their school and the county read it."""

    person_id: int
    name: str
    school_id: int
    school: str
    subject: str
    level: str
    years: int
    backbone_level: str | None
    principal: bool
    exempt_kind: str | None
    exempt_case_id: int | None
    volunteered: bool
    nominated: bool
    preferences: tuple[str, ...]  # the schools, in order

    @property
    def status(self) -> str:
        if self.exempt_case_id is not None:
            return f"免于交流（{self.exempt_kind}）"
        if self.volunteered:
            return "本人志愿"
        if self.nominated:
            return "学校推荐"
        return "未填报"


def _preferences(conn: Connection, campaign_id: int, people: Sequence[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for i in range(0, len(people), 500):
        rows = conn.execute(
            select(prefs_t.c.person_id, units_t.c.name)
            .join(posts_t, posts_t.c.id == prefs_t.c.post_id)
            .join(units_t, units_t.c.id == posts_t.c.school_id)
            .where(prefs_t.c.campaign_id == campaign_id, prefs_t.c.person_id.in_(people[i:i + 500]))
            .order_by(prefs_t.c.person_id, prefs_t.c.rank)
        )  # fmt: skip
        for r in rows:
            out.setdefault(int(r.person_id), []).append(str(r.name))
    return out


def _listed(conn: Connection, c: Any, rows: Sequence[Any]) -> list[Listed]:
    prefs = _preferences(conn, c.id, [int(r.person_id) for r in rows])
    return [
        Listed(
            person_id=int(r.person_id), name=r.name, school_id=int(r.school_id), school=r.school,
            subject=r.subject, level=r.level,
            years=full_years(r.joined_school_on, c.eligible_as_of),
            backbone_level=r.backbone_level, principal=bool(r.principal),
            exempt_kind=r.exempt_kind, exempt_case_id=r.exempt_case_id,
            volunteered=r.volunteered_at is not None, nominated=r.nominated_at is not None,
            preferences=tuple(prefs.get(int(r.person_id), ())),
        )
        for r in rows
    ]  # fmt: skip


def _list_query(campaign_id: int) -> Any:
    e = eligible_t
    return (
        select(e, people_t.c.name, units_t.c.name.label("school"), units_t.c.path)
        .join(people_t, people_t.c.id == e.c.person_id)
        .join(units_t, units_t.c.id == e.c.school_id)
        .where(e.c.campaign_id == campaign_id)
    )


def eligible_list(
    engine: CaseEngine, actor: Actor, campaign_id: int, *, school_id: int | None = None
) -> list[Listed]:
    """The eligible list as the actor may read it: a school its own teachers, the county
    (and the tiers above) every school's. A teacher reads their own line (``my_status``)."""
    with engine.db.connect() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        query = _list_query(c.id).order_by(units_t.c.name, people_t.c.name, eligible_t.c.person_id)
        if not actor.holds(SYSTEM):
            paths = actor.scopes(SCOPE_ROLES)
            if not paths:
                raise PermissionDenied("名单由学校和县教育局查看；本人情况请查看“我的交流轮岗”")
            query = query.where(
                or_(*(units_t.c.path.startswith(p, autoescape=True) for p in paths))
            )
        if school_id is not None:
            query = query.where(eligible_t.c.school_id == school_id)
        return _listed(conn, c, conn.execute(query).all())


@dataclass(frozen=True)
class MyStatus:
    """A teacher's own standing in a campaign: on the list or not, their preferences and,
    once published, where they go and why."""

    campaign_id: int
    campaign: str
    state: str
    state_label: str
    preferences_window: str
    listed: Listed | None
    placement: dict[str, Any] | None


def my_status(engine: CaseEngine, actor: Actor, campaign_id: int) -> MyStatus:
    if actor.person_id is None:
        raise PermissionDenied("请先登录")
    with engine.db.connect() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        rows = conn.execute(
            _list_query(c.id).where(eligible_t.c.person_id == actor.person_id)
        ).all()
        listed = _listed(conn, c, rows)[0] if rows and c.state != "opened" else None
        placement = None
        if c.published_at is not None:
            from states.processes.rotation.results import result_rows

            mine = result_rows(conn, c, person_id=actor.person_id)
            placement = mine[0] if mine else None
    return MyStatus(c.id, c.name, c.state, c.state_label, c.window(), listed, placement)


# --- counts per sending school ----------------------------------------------------------------
def school_numbers() -> Any:
    """Each sending school's numbers per campaign, as one grouped SELECT (no campaign chosen:
    the caller adds its ``where`` on ``rotation_eligible``): campaign, school, its name,
    eligible (exemptions left out), exempted, volunteers, nominated, backbone among those
    selected, placed by the current result and backbone among them, and whether the school
    confirmed its list. The one definition of these counts: the campaign's pages
    (``school_counts``) and the compliance checks over a province (``compliance``) read it."""
    e, p = eligible_t, placements_t
    free = e.c.exempt_case_id.is_(None)
    chosen = and_(free, or_(e.c.volunteered_at.is_not(None), e.c.nominated_at.is_not(None)))
    placed = p.c.post_id.is_not(None)

    def count(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    return (
        select(
            e.c.campaign_id, e.c.school_id, units_t.c.name.label("school"),
            count(free).label("eligible"),
            count(e.c.exempt_case_id.is_not(None)).label("exempted"),
            count(and_(free, e.c.volunteered_at.is_not(None))).label("volunteers"),
            count(and_(free, e.c.volunteered_at.is_(None), e.c.nominated_at.is_not(None)))
            .label("nominated"),
            count(and_(chosen, e.c.backbone_level.is_not(None))).label("backbone_selected"),
            count(placed).label("placed"),
            count(and_(placed, p.c.backbone)).label("backbone_placed"),
            func.max(case((lists_t.c.school_id.is_not(None), 1), else_=0)).label("confirmed"),
        )
        .join(units_t, units_t.c.id == e.c.school_id)
        .outerjoin(p, and_(p.c.campaign_id == e.c.campaign_id, p.c.person_id == e.c.person_id))
        .outerjoin(
            lists_t,
            and_(lists_t.c.campaign_id == e.c.campaign_id, lists_t.c.school_id == e.c.school_id),
        )
        .group_by(e.c.campaign_id, e.c.school_id, units_t.c.name)
    )  # fmt: skip


def school_counts(conn: Connection, c: Any) -> list[SchoolCount]:
    """Each sending school's numbers in the campaign (``school_numbers``), in one read."""
    rows = conn.execute(
        school_numbers()
        .where(eligible_t.c.campaign_id == c.id)
        .order_by(units_t.c.name, eligible_t.c.school_id)
    ).all()
    return [
        SchoolCount(
            int(r.school_id), str(r.school), int(r.eligible), int(r.exempted),
            int(r.volunteers), int(r.nominated), int(r.backbone_selected), int(r.placed),
            int(r.backbone_placed), bool(r.confirmed), c.target_percent, c.backbone_percent,
        )
        for r in rows
    ]  # fmt: skip


# --- preferences, nominations, confirmations --------------------------------------------------
def _own_row(conn: Connection, campaign_id: int, person_id: int) -> Any:
    row = conn.execute(
        select(eligible_t)
        .where(eligible_t.c.campaign_id == campaign_id, eligible_t.c.person_id == person_id)
        .with_for_update()
    ).one_or_none()
    return row


def set_preferences(
    engine: CaseEngine, actor: Actor, campaign_id: int, schools: Sequence[int]
) -> list[str]:
    """The teacher's preferred receiving schools, best first (none: no longer volunteering),
    replacing those stated before. Returns the schools' names."""
    if actor.person_id is None:
        raise PermissionDenied("请先登录")
    now = engine.clock.now()
    today = local_date(now)
    if len(schools) > MAX_PREFERENCES:
        raise FormError("schools", f"最多填报{MAX_PREFERENCES}所学校（现为{len(schools)}所）")
    if len(set(schools)) != len(schools):
        raise FormError("schools", "志愿学校不能重复")
    with engine.db.begin() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        window = f"志愿填报时间为{c.window()}"
        if c.state != "preferences" or today > c.preferences_close:
            raise FormError("schools", f"{window}，已截止")
        if today < c.preferences_open:
            raise FormError("schools", f"{window}，尚未开始")
        me = _own_row(conn, c.id, actor.person_id)
        if me is None:
            raise FormError("schools", "您不在本次交流轮岗符合条件的名单中，无需填报志愿")
        if me.exempt_case_id is not None:
            raise FormError("schools", "您已获批免于交流，无需填报志愿")
        found = {
            int(r.school_id): r
            for r in conn.execute(
                select(posts_t.c.id, posts_t.c.school_id, units_t.c.name)
                .join(units_t, units_t.c.id == posts_t.c.school_id)
                .where(
                    posts_t.c.campaign_id == c.id,
                    posts_t.c.school_id.in_(list(schools)),
                    posts_t.c.subject == me.subject,
                    posts_t.c.level == me.level,
                    posts_t.c.places > 0,
                )
            )
        }
        what = f"{level_label(me.level)}{me.subject}"
        for n, school in enumerate(schools, start=1):
            if school == me.school_id:
                raise FormError("schools", f"第{n}志愿是您现在任教的学校，交流须到其他学校")
            if school not in found:
                name = (
                    conn.execute(select(units_t.c.name).where(units_t.c.id == school)).scalar()
                    or f"学校{school}"
                )
                raise FormError("schools", f"第{n}志愿：{name}没有{what}的接收岗位")
        conn.execute(
            delete(prefs_t).where(
                prefs_t.c.campaign_id == c.id, prefs_t.c.person_id == actor.person_id
            )
        )
        if schools:
            conn.execute(
                insert(prefs_t),
                [
                    {"campaign_id": c.id, "person_id": actor.person_id, "rank": n,
                     "post_id": found[s].id}
                    for n, s in enumerate(schools, start=1)
                ],
            )  # fmt: skip
        conn.execute(
            update(eligible_t)
            .where(eligible_t.c.campaign_id == c.id, eligible_t.c.person_id == actor.person_id)
            .values(volunteered_at=now if schools else None)
        )
        return [str(found[s].name) for s in schools]


def _school_officer(actor: Actor, school_id: int, county_id: int) -> None:
    if not (
        actor.holds(SYSTEM)
        or actor.holds(SCHOOL_OFFICER, school_id)
        or campaigns.runs(actor, county_id)
    ):
        raise PermissionDenied("交流名单由教师所在学校的人事干部办理")


def nominate(
    engine: CaseEngine, actor: Actor, campaign_id: int, person_id: int, *, nominated: bool = True
) -> None:
    """The school nominates one of its eligible teachers (or takes a nomination back): a
    nominated teacher goes into the matching whether or not they stated preferences."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        campaigns.load_row(conn, c.id, lock=True)  # never between a run's reads
        if c.state not in CHOOSING:
            raise Conflict(f"交流轮岗工作{c.state_label}，不能推荐人选", field="person_id")
        row = _own_row(conn, c.id, person_id)
        if row is None:
            raise FormError("person_id", "该教师不在本次交流轮岗符合条件的名单中")
        _school_officer(actor, int(row.school_id), int(c.county_id))
        if row.exempt_case_id is not None:
            raise FormError("person_id", f"该教师已获批免于交流（{row.exempt_kind}）")
        conn.execute(
            update(eligible_t)
            .where(eligible_t.c.campaign_id == c.id, eligible_t.c.person_id == person_id)
            .values(
                nominated_at=now if nominated else None,
                nominated_by=actor.person_id if nominated else None,
            )
        )


def confirm_list(engine: CaseEngine, actor: Actor, campaign_id: int, school_id: int) -> int:
    """The school confirms its list once preferences have closed; returns how many it
    sends (volunteers, then nominations). Confirming again records the list as it is now."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        campaigns.load_row(conn, c.id, lock=True)  # one confirmation of a school at a time
        if c.state not in ("confirming", "matching"):
            raise Conflict(
                f"交流轮岗工作处于“{c.state_label}”阶段，志愿填报截止后才能确认名单",
                field="school_id",
            )
        _school_officer(actor, school_id, int(c.county_id))
        e = eligible_t
        selected = conn.execute(
            select(func.count()).where(
                e.c.campaign_id == c.id,
                e.c.school_id == school_id,
                e.c.exempt_case_id.is_(None),
                or_(e.c.volunteered_at.is_not(None), e.c.nominated_at.is_not(None)),
            )
        ).scalar_one()
        on_list = conn.execute(
            select(func.count()).where(e.c.campaign_id == c.id, e.c.school_id == school_id)
        ).scalar_one()
        if not on_list:
            raise NotFound("该学校没有列入本次交流轮岗名单的教师")
        conn.execute(
            delete(lists_t).where(lists_t.c.campaign_id == c.id, lists_t.c.school_id == school_id)
        )
        conn.execute(
            insert(lists_t).values(
                campaign_id=c.id, school_id=school_id, selected=selected, confirmed_at=now,
                confirmed_by=actor.person_id,
            )
        )  # fmt: skip
        return int(selected)


# --- who goes into the matching ---------------------------------------------------------------
def candidates(conn: Connection, c: Any) -> list[Candidate]:
    """The teachers the schools send (not exempted; volunteers and nominations), with
    their preferences as post ids, best first, in person order."""
    e = eligible_t
    rows = conn.execute(
        select(e.c.person_id, e.c.school_id, e.c.subject, e.c.level, e.c.joined_school_on,
               e.c.backbone_level)
        .where(
            e.c.campaign_id == c.id,
            e.c.exempt_case_id.is_(None),
            or_(e.c.volunteered_at.is_not(None), e.c.nominated_at.is_not(None)),
        )
        .order_by(e.c.person_id)
    ).all()  # fmt: skip
    prefs: dict[int, list[int]] = {}
    for r in conn.execute(
        select(prefs_t.c.person_id, prefs_t.c.post_id)
        .join(
            e,
            and_(e.c.campaign_id == prefs_t.c.campaign_id, e.c.person_id == prefs_t.c.person_id),
        )
        .where(prefs_t.c.campaign_id == c.id, e.c.volunteered_at.is_not(None))
        .order_by(prefs_t.c.person_id, prefs_t.c.rank)
    ):  # fmt: skip
        prefs.setdefault(int(r.person_id), []).append(int(r.post_id))
    return [
        Candidate(
            id=int(r.person_id), subject=r.subject, level=r.level,
            preferences=tuple(prefs.get(int(r.person_id), ())),
            backbone=BACKBONE_RANK.get(r.backbone_level or "", 0),
            years=full_years(r.joined_school_on, c.eligible_as_of),
            school_id=int(r.school_id),
        )
        for r in rows
    ]  # fmt: skip


def unconfirmed(conn: Connection, c: Any) -> list[str]:
    """Schools sending teachers that have not confirmed their list."""
    e = eligible_t
    rows = conn.execute(
        select(units_t.c.name)
        .select_from(e)
        .join(units_t, units_t.c.id == e.c.school_id)
        .outerjoin(
            lists_t,
            and_(lists_t.c.campaign_id == e.c.campaign_id, lists_t.c.school_id == e.c.school_id),
        )
        .where(
            e.c.campaign_id == c.id,
            e.c.exempt_case_id.is_(None),
            or_(e.c.volunteered_at.is_not(None), e.c.nominated_at.is_not(None)),
            lists_t.c.school_id.is_(None),
        )
        .group_by(units_t.c.name)
        .order_by(units_t.c.name)
    ).scalars()  # fmt: skip
    return [str(n) for n in rows]


__all__ = [
    "CHOOSING",
    "Listed",
    "MyStatus",
    "candidates",
    "compute",
    "confirm_list",
    "eligible_list",
    "my_status",
    "nominate",
    "school_counts",
    "school_numbers",
    "set_preferences",
    "unconfirmed",
]
