"""The county's matching result: a run (``matching.match`` over the campaign's candidates
and posts, a fresh lottery seed, every placement stored with its reason and run number),
the targets checked against it, its publication (each placed teacher's case opened into
publicity, set-based), and the result as each reader may see it, on a page or exported.

No teacher is placed twice and no post takes more than its places, whatever runs at once:
a run and a publication each hold the campaign case's row lock (the engine's), a run also
locks the campaign's posts; the database refuses a second line for a teacher
(``uq_rotation_placements_teacher``); and a run counts each post's places inside its own
transaction before it commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from states.engine import CaseEngine
from states.engine.bulk import Move
from states.engine.effects import EffectScope
from states.engine.outbox import notice, send_many
from states.engine.statements import tasks_t
from states.engine.visibility import Viewer, shown_record
from states.errors import Conflict, FormError
from states.org import SCHOOL_LEVELS, SCOPE_ROLES, SYSTEM, Actor
from states.process.rules import full_years
from states.process.visibility import Audience
from states.processes.rotation import campaigns, lists
from states.processes.rotation.machine import PLACEMENT, PlacementMachine
from states.processes.rotation.matching import (
    ADJUSTED,
    RESERVED,
    Matching,
    MatchingError,
    Placement,
    Post,
    match,
)
from states.processes.rotation.rules import (
    ResultFacts,
    SchoolCount,
    Shortfall,
    cn_date,
    shortfalls,
)
from states.processes.rotation.spec import PLACED_NOTICE, PLACEMENT_SPEC, PublishResult, RunMatching
from states.processes.rotation.tables import (
    RotationCampaign,
    RotationEligible,
    RotationPlacement,
    RotationPost,
)
from states.store.models import Case, OrgUnit, Person, Teacher, table_of

campaigns_t, posts_t = table_of(RotationCampaign), table_of(RotationPost)
placements_t, eligible_t = table_of(RotationPlacement), table_of(RotationEligible)
units_t, people_t, teachers_t = table_of(OrgUnit), table_of(Person), table_of(Teacher)
cases_t = table_of(Case)
UNPLACED = "unplaced"
CHUNK = 500


# --- a run ------------------------------------------------------------------------------------
def _posts(conn: Connection, campaign_id: int, *, lock: bool) -> list[Post]:
    query = (
        select(posts_t, units_t.c.is_rural, units_t.c.is_weak)
        .join(units_t, units_t.c.id == posts_t.c.school_id)
        .where(posts_t.c.campaign_id == campaign_id)
        .order_by(posts_t.c.id)
    )
    if lock:
        query = query.with_for_update(of=posts_t)
    return [
        Post(
            id=int(r.id), school_id=int(r.school_id), subject=r.subject, level=r.level,
            places=int(r.places), priority=bool(r.is_rural or r.is_weak), reserved=int(r.reserved),
        )
        for r in conn.execute(query)
    ]  # fmt: skip


def reason_of(p: Placement, named: bool, priority: bool, run: int, draw: int) -> str:
    """Why the teacher goes where they go, in words the county publishes."""
    where = "（接收学校为农村或薄弱学校）" if priority else ""
    if p.step != ADJUSTED:
        slot = "骨干教师预留名额" if p.slot == RESERVED else "普通名额"
        text = (
            f"第{p.rank}志愿录取（{slot}；县级优先顺序：骨干等级、在同校任教年限，"
            f"同等条件按抽签号{draw}）"
        )
    elif not named:
        text = f"调剂：未填报志愿，按最小调剂代价安排（代价{p.cost}，农村和薄弱学校优先）"
    else:
        text = p.reason()
    return f"{text}{where}；第{run}次匹配"


def _lines(
    result: Matching, people: dict[int, Any], posts: dict[int, Post], run: int
) -> list[dict[str, Any]]:
    lines = []
    for p in result.placements:
        c = people[p.candidate]
        post = posts[p.post]
        lines.append(
            {
                "person_id": p.candidate, "from_school_id": c.school_id, "post_id": p.post,
                "step": p.step, "slot": p.slot if p.step != ADJUSTED else None, "rank": p.rank,
                "cost": p.cost, "backbone": c.backbone > 0,
                "reason": reason_of(p, bool(c.preferences), post.priority, run,
                                    result.lottery.get(c.id, 0)),
            }
        )  # fmt: skip
    for cid in result.unplaced:
        c = people[cid]
        lines.append(
            {
                "person_id": cid, "from_school_id": c.school_id, "post_id": None,
                "step": UNPLACED, "slot": None, "rank": None, "cost": None,
                "backbone": c.backbone > 0,
                "reason": f"未能安排：没有与其学科、学段相符的剩余岗位；第{run}次匹配",
            }
        )  # fmt: skip
    return lines


def run_handler(scope: EffectScope, cmd: RunMatching) -> None:
    """The campaign's ``run_match`` step: a new seed drawn, both steps run, the unpublished
    result replaced, each post's places counted before the commit; the seed, the run and
    what came of it go on the campaign's audit trail."""
    conn = scope.conn
    c = campaigns.campaign_of_case(conn, scope.ctx.case.id, lock=True)
    posts = _posts(conn, c.id, lock=True)
    people = lists.candidates(conn, c)
    seed = secrets.randbits(48)
    try:
        result = match(people, posts, seed)
    except MatchingError as exc:
        raise FormError("run", str(exc)) from None
    run = int(c.run) + 1
    lines = _lines(result, {p.id: p for p in people}, {p.id: p for p in posts}, run)
    conn.execute(delete(placements_t).where(placements_t.c.campaign_id == c.id))
    if lines:
        conn.execute(
            insert(placements_t), [{**line, "campaign_id": c.id, "run": run} for line in lines]
        )
    over = conn.execute(
        select(posts_t.c.id, posts_t.c.places, func.count(placements_t.c.id))
        .join(placements_t, placements_t.c.post_id == posts_t.c.id)
        .where(posts_t.c.campaign_id == c.id)
        .group_by(posts_t.c.id, posts_t.c.places)
        .having(func.count(placements_t.c.id) > posts_t.c.places)
    ).first()
    if over is not None:  # the algorithm never does this; the count stands guard anyway
        raise Conflict(f"岗位{over[0]}安排人数超过接收名额（{over[2]}>{over[1]}），匹配未保存")
    conn.execute(
        update(campaigns_t)
        .where(campaigns_t.c.id == c.id)
        .values(run=run, seed=seed, matched_at=scope.ctx.now)
    )
    adjusted = sum(1 for p in result.placements if p.step == ADJUSTED)
    scope.record.update(
        seed=seed, run=run, placed=len(result.placements) - adjusted, adjusted=adjusted,
        unplaced=len(result.unplaced), adjust_cost=result.adjust_cost,
    )  # fmt: skip


# --- the targets against the result -----------------------------------------------------------
def check(conn: Connection, c: Any) -> tuple[list[SchoolCount], tuple[Shortfall, ...], str | None]:
    """Each sending school's numbers, the targets the current result misses, and why the
    result no longer matches the lists (None when it does)."""
    counts = lists.school_counts(conn, c)
    placed = sum(s.placed for s in counts)
    backbone = sum(s.backbone_placed for s in counts)
    missed = shortfalls(tuple(counts), placed, backbone, c.backbone_percent) if c.run else ()
    changed = None
    if c.run:
        wanted = {p.id for p in lists.candidates(conn, c)}
        have = set(
            conn.execute(
                select(placements_t.c.person_id).where(placements_t.c.campaign_id == c.id)
            ).scalars()
        )
        if wanted - have:
            changed = f"新增{len(wanted - have)}人"
        if have - wanted:
            changed = "、".join(filter(None, (changed, f"{len(have - wanted)}人已不在名单中")))
        moved = c.posts_changed_at
        if moved is not None and c.matched_at is not None and moved > c.matched_at:
            changed = "、".join(filter(None, (changed, "接收岗位已调整")))
    return counts, missed, changed


def result_facts(conn: Connection, ctx: Any) -> ResultFacts:
    c = campaigns.campaign_of_case(conn, ctx.case.id)
    _, missed, changed = check(conn, c)
    return ResultFacts(int(c.run), changed, missed)


# --- publication ------------------------------------------------------------------------------
def publish_handler(scope: EffectScope, cmd: PublishResult) -> None:
    """The campaign's ``publish`` step: each placed teacher's case opened (about them, at
    their sending school) and put into publicity for the campaign's working days, set-based;
    the teachers told; the shortfall reason, if any, kept with the campaign."""
    conn, ctx, engine = scope.conn, scope.ctx, scope.engine
    c = campaigns.campaign_of_case(conn, ctx.case.id, lock=True)
    rows = conn.execute(
        select(placements_t, posts_t.c.school_id.label("to_school_id"), posts_t.c.subject,
               posts_t.c.level, units_t.c.name.label("to_school"))
        .join(posts_t, posts_t.c.id == placements_t.c.post_id)
        .join(units_t, units_t.c.id == posts_t.c.school_id)
        .where(placements_t.c.campaign_id == c.id)
        .order_by(placements_t.c.id)
    ).all()  # fmt: skip
    senders = {
        int(unit): str(name)
        for unit, name in conn.execute(
            select(units_t.c.id, units_t.c.name).where(
                units_t.c.id.in_({int(r.from_school_id) for r in rows})
            )
        ).tuples()
    }
    items = [
        (
            int(r.from_school_id),
            {
                "campaign_id": c.id, "campaign": c.name, "placement_id": int(r.id),
                "from_school_id": int(r.from_school_id),
                "from_school": senders[int(r.from_school_id)],
                "to_school_id": int(r.to_school_id), "to_school": r.to_school,
                "post": f"{SCHOOL_LEVELS.get(r.level, r.level)}{r.subject}", "step": r.step,
                "rank": r.rank, "reason": r.reason, "run": int(r.run),
                "term_years": int(c.term_years), "publicity_days": int(c.publicity_days),
            },
        )
        for r in rows
    ]  # fmt: skip
    ids = engine.open_many(
        PLACEMENT, items, ctx.actor, conn=conn, year=c.year,
        people=[int(r.person_id) for r in rows],
    ) if items else []  # fmt: skip
    if ids:
        engine.fire_many(PLACEMENT, [Move(i, "publicize") for i in ids], ctx.actor, conn=conn)
        # the campaign's own number of working days, not the state's usual five
        due, flag = engine.deadlines.due(conn, ctx.today, int(c.publicity_days))
        for i in range(0, len(ids), CHUNK):
            conn.execute(
                update(tasks_t)
                .where(
                    tasks_t.c.case_id.in_(ids[i : i + CHUNK]),
                    tasks_t.c.kind == "window",
                    tasks_t.c.status == "open",
                )
                .values(due_on=due, due_flag=flag, due_days=int(c.publicity_days))
            )
        _link(conn, [(int(r.id), case_id) for r, case_id in zip(rows, ids, strict=True)])
        until = f"，公示至{cn_date(due)}" if due is not None else ""
        send_many(
            conn,
            [
                notice(
                    case_id, PLACED_NOTICE, ctx.now,
                    {"rotation_school": r.to_school,
                     "rotation_detail": f"{SCHOOL_LEVELS.get(r.level, r.level)}{r.subject}；"
                                        f"{r.reason}{until}",
                     "rotation_date": due.isoformat() if due is not None else ""},
                    person_id=int(r.person_id),
                )
                for r, case_id in zip(rows, ids, strict=True)
            ],
        )  # fmt: skip
    reason = str(scope.record.get("shortfall_reason") or "").strip() or None
    _, missed, _ = check(conn, c)
    conn.execute(
        update(campaigns_t)
        .where(campaigns_t.c.id == c.id)
        .values(published_at=ctx.now, shortfall_reason=reason if missed else None)
    )
    scope.record["cases"] = len(ids)
    if missed:
        scope.record["shortfalls"] = [s.text for s in missed]


def _link(conn: Connection, pairs: Sequence[tuple[int, int]]) -> None:
    """Each placement with the case it opened."""
    if pairs:
        conn.execute(
            update(placements_t)
            .where(placements_t.c.id == bindparam("p_id"))
            .values(case_id=bindparam("p_case")),
            [{"p_id": p, "p_case": case_id} for p, case_id in pairs],
        )


# --- the result as read -----------------------------------------------------------------------
STEP_LABELS = {"deferred_acceptance": "按志愿录取", "adjustment": "调剂", UNPLACED: "未安排"}


def _result_query(c: Any) -> Any:
    to = units_t.alias("to_school")
    src = units_t.alias("from_school")
    return (
        select(
            placements_t, people_t.c.name, people_t.c.id_number, teachers_t.c.gender,
            eligible_t.c.subject, eligible_t.c.level, eligible_t.c.joined_school_on,
            eligible_t.c.backbone_level, src.c.name.label("from_school"),
            src.c.path.label("from_path"), to.c.name.label("to_school"),
            to.c.path.label("to_path"), cases_t.c.state,
        )
        .join(people_t, people_t.c.id == placements_t.c.person_id)
        .outerjoin(teachers_t, teachers_t.c.person_id == placements_t.c.person_id)
        .join(
            eligible_t,
            and_(eligible_t.c.campaign_id == placements_t.c.campaign_id,
                 eligible_t.c.person_id == placements_t.c.person_id),
        )
        .join(src, src.c.id == placements_t.c.from_school_id)
        .outerjoin(posts_t, posts_t.c.id == placements_t.c.post_id)
        .outerjoin(to, to.c.id == posts_t.c.school_id)
        .outerjoin(cases_t, cases_t.c.id == placements_t.c.case_id)
        .where(placements_t.c.campaign_id == c.id)
        .order_by(src.c.name, people_t.c.name, placements_t.c.person_id)
    )  # fmt: skip


def _line(c: Any, r: Any, viewer: Viewer) -> dict[str, Any]:
    state = str(getattr(PlacementMachine, r.state).name) if r.state is not None else None
    record = {
        "id_number": r.id_number or "", "name": r.name,
        "gender": {"M": "男", "F": "女"}.get(r.gender or "", ""),
        "from_school": r.from_school, "to_school": r.to_school or "",
        "subject": r.subject, "level": SCHOOL_LEVELS.get(r.level, r.level),
        "backbone": "是" if r.backbone else "否",
        "years": full_years(r.joined_school_on, c.eligible_as_of),
        "step": STEP_LABELS.get(r.step, r.step), "rank": r.rank, "reason": r.reason,
        "run": int(r.run), "state": state or "",
    }  # fmt: skip
    shown = shown_record(PLACEMENT_SPEC.visibility, record, viewer)
    return {
        **shown,
        "person_id": int(r.person_id),
        "placement_id": int(r.id),
        "case_id": r.case_id,
        "placed": r.post_id is not None,
    }


def _viewer(actor: Actor, person_id: int) -> Viewer:
    """Where the reader of one result line stands: the teacher it is about, or staff."""
    if actor.person_id is not None and actor.person_id == person_id:
        return Viewer(frozenset({Audience.APPLICANT}), actor.person_id)
    return Viewer(frozenset({Audience.OFFICER}), actor.person_id)


def result_rows(
    conn: Connection, c: Any, *, actor: Actor | None = None, person_id: int | None = None
) -> list[dict[str, Any]]:
    """The result's lines as ``actor`` may read them: the county every line, a school the
    teachers it sends and receives; ``person_id`` one teacher's own line."""
    query = _result_query(c)
    if person_id is not None:
        query = query.where(placements_t.c.person_id == person_id)
        reader = Actor(person_id, "", ())
    else:
        assert actor is not None
        reader = actor
        if not actor.holds(SYSTEM):
            paths = actor.scopes(SCOPE_ROLES)
            if not paths:
                return []
            to = query.selected_columns.to_path
            src = query.selected_columns.from_path
            query = query.where(
                or_(
                    *(src.startswith(p, autoescape=True) for p in paths),
                    *(to.startswith(p, autoescape=True) for p in paths),
                )
            )
    return [_line(c, r, _viewer(reader, int(r.person_id))) for r in conn.execute(query)]


def result(engine: CaseEngine, actor: Actor, campaign_id: int) -> dict[str, Any]:
    """The matching result with the targets' status, as the actor may read it."""
    with engine.db.connect() as conn:
        c = campaigns.read(engine, conn, actor, campaign_id)
        counts, missed, changed = check(conn, c)
        lines = result_rows(conn, c, actor=actor) if c.run else []
    return {
        "campaign": c,
        "run": int(c.run),
        "seed": c.seed,
        "matched_at": c.matched_at,
        "published_at": c.published_at,
        "changed": changed,
        "counts": counts,
        "shortfalls": missed,
        "lines": lines,
    }


EXPORT_COLUMNS = (
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("gender", "性别"),
    ("from_school", "原学校"),
    ("subject", "学科"),
    ("level", "学段"),
    ("years", "同校任教年限"),
    ("backbone", "骨干教师"),
    ("to_school", "交流学校"),
    ("step", "方式"),
    ("rank", "志愿"),
    ("reason", "安排理由"),
    ("state", "办理状态"),
)


def export_rows(
    engine: CaseEngine, actor: Actor, campaign_id: int
) -> tuple[str, Iterator[dict[str, Any]]]:
    """The result for the spreadsheet, each line cut by the result's visibility (the ID
    number masked for everyone but the teacher it is about)."""
    found = result(engine, actor, campaign_id)
    c = found["campaign"]
    if not found["run"]:
        raise Conflict("尚未运行匹配，没有可导出的结果")
    return f"{c.name}交流结果", iter(found["lines"])
