"""Year-end scoring (年终考核, 四方评价) of the tasks a unit issued: the unit opens a round
with the four parties' weights (whole percent, summing to 100) and its last day; every
scorer gets a sheet (a case at the scorer's unit, its task due on the last day): each lead
unit scores its own tasks (自评) and, where there are several, the others' (同级互评); the
issuing unit scores them all (上级评价), and so does each served party it names
(服务对象评价). Scores are sealed until the round closes; then each task's total, each
unit's total and the ranking are computed (``rules.totals``) and kept, and the round's
organiser publishes them to the units.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from states.clock import local_date
from states.engine import CaseEngine, FireResult
from states.engine.bulk import Move
from states.engine.effects import EffectScope
from states.engine.outbox import send_many
from states.errors import Conflict, FormError, NotFound, Problems
from states.org import OFFICER_OF_TIER, SYSTEM_ACTOR, Actor
from states.processes.task_book.books import Units, own_unit, unit_row
from states.processes.task_book.effects import step_notice, tell_holders
from states.processes.task_book.machine import ROUND, SHEET
from states.processes.task_book.rules import PARTIES, tie_note, totals, weight_problems
from states.processes.task_book.spec import CloseRound, PublishRound, RecordScores
from states.processes.task_book.store import (
    cases_t,
    pairs,
    results_t,
    rounds_t,
    scores_t,
    sheets_t,
    tasks_t,
    units_t,
    work_t,
)


@dataclass(frozen=True)
class RoundTask:
    id: int
    title: str
    lead_unit_id: int
    lead_name: str
    weight: float


def round_tasks(conn: Connection, round_: Any) -> list[RoundTask]:
    """The tasks a round scores: those the organiser issued that year, as issued (a task's
    parts for the units below are its lead unit's concern)."""
    rows = conn.execute(
        select(work_t.c.id, work_t.c.title, work_t.c.lead_unit_id, units_t.c.name, work_t.c.weight)
        .join(units_t, units_t.c.id == work_t.c.lead_unit_id)
        .where(
            work_t.c.issuer_unit_id == round_.unit_id,
            work_t.c.year == round_.year,
            work_t.c.parent_id.is_(None),
            work_t.c.case_id.is_not(None),
        )
        .order_by(work_t.c.book_id, work_t.c.seq, work_t.c.id)
    ).all()
    return [RoundTask(*r) for r in rows]


def sheet_tasks(conn: Connection, round_: Any, sheet: Any) -> list[RoundTask]:
    """What a sheet scores: its own tasks for a self-assessment, the other units' for a
    peer, all of them for the superior and a served party."""
    tasks = round_tasks(conn, round_)
    if sheet.party == "self":
        return [t for t in tasks if t.lead_unit_id == sheet.scorer_unit_id]
    if sheet.party == "peers":
        return [t for t in tasks if t.lead_unit_id != sheet.scorer_unit_id]
    return tasks


ROUND_FIELDS = ("title", "year", "closes_on", "weights", "served")


def open_round(
    engine: CaseEngine,
    actor: Actor,
    form: Mapping[str, Any],
    *,
    unit_id: int | None = None,
) -> int:
    """Open the year-end scoring of the tasks the unit issued; returns the round's id.
    Every problem with the form is named at once; nothing is written unless all is well."""
    now = engine.clock.now()
    today = local_date(now)
    problems: list[tuple[str, str]] = [
        (str(k), "不是此表单的字段") for k in form if k not in ROUND_FIELDS
    ]
    year = form.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        problems.append(("year", "考核年度应为2000至2100之间的年份"))
    closes_on: dt.date | None = None
    try:
        closes_on = dt.date.fromisoformat(str(form.get("closes_on")))
        if closes_on < today:
            problems.append(("closes_on", "评分截止日期不能早于今天"))
    except ValueError:
        problems.append(("closes_on", "评分截止日期应为有效日期（YYYY-MM-DD）"))
    weights = form.get("weights")
    if not isinstance(weights, Mapping):
        problems.append(("weights", "请填写四方评价的权重"))
        weights = {}
    else:
        problems += weight_problems(weights)
    title = str(form.get("title") or "").strip()
    if len(title) > 200:
        problems.append(("title", "名称不能超过200字"))
    with engine.db.begin() as conn:
        unit = own_unit(conn, actor, unit_id)
        served, problem = Units(conn, unit).many(str(form.get("served") or ""), "服务对象单位")
        if problem is not None:
            problems.append(("served", problem))
        if float(weights.get("served") or 0) > 0 and not served and problem is None:
            problems.append(("served", "服务对象评价的权重大于0，请填写服务对象单位"))
        if problems:
            raise Problems(problems)
        assert isinstance(year, int) and closes_on is not None
        same = conn.execute(
            select(rounds_t.c.id).where(rounds_t.c.unit_id == unit.id, rounds_t.c.year == year)
        ).scalar()
        if same is not None:
            raise Conflict(f"{unit.name}{year}年度已开启考核评分（编号{same}）", field="year")
        title = title or f"{unit.name}{year}年度目标责任考核"
        round_id = conn.execute(
            insert(rounds_t)
            .values(
                unit_id=unit.id,
                year=year,
                title=title,
                weights={p: float(weights[p]) for p in PARTIES},
                served_units=[u.id for u in served] or None,
                closes_on=closes_on,
                opened_by=actor.person_id,
                opened_at=now,
            )
            .returning(rounds_t.c.id)
        ).scalar_one()
        round_ = conn.execute(select(rounds_t).where(rounds_t.c.id == round_id)).one()
        tasks = round_tasks(conn, round_)
        if not tasks:
            raise FormError("year", f"{unit.name}{year}年度没有已下达的任务，无法开启考核评分")
        data = {"round_id": round_id, "title": title, "owner_tier": unit.tier}
        [round_case] = engine.open_many(ROUND, [(unit.id, data)], actor, conn=conn, year=year)
        conn.execute(update(rounds_t).where(rounds_t.c.id == round_id).values(case_id=round_case))
        leads = list(dict.fromkeys(t.lead_unit_id for t in tasks))
        scorers: list[tuple[int, str]] = [(u, "self") for u in leads]
        scorers.append((unit.id, "superior"))
        if len(leads) > 1:
            scorers += [(u, "peers") for u in leads]
        scorers += [(u.id, "served") for u in served]
        _open_sheets(engine, conn, actor, round_, round_case, scorers)
    return int(round_id)


def _open_sheets(
    engine: CaseEngine,
    conn: Connection,
    actor: Actor,
    round_: Any,
    round_case: int,
    scorers: Sequence[tuple[int, str]],
) -> None:
    conn.execute(
        insert(sheets_t),
        [{"round_id": round_.id, "scorer_unit_id": u, "party": p} for u, p in scorers],
    )
    sheets = conn.execute(
        select(sheets_t.c.id, sheets_t.c.scorer_unit_id, sheets_t.c.party, units_t.c.tier)
        .join(units_t, units_t.c.id == sheets_t.c.scorer_unit_id)
        .where(sheets_t.c.round_id == round_.id)
        .order_by(sheets_t.c.id)
    ).all()
    items = [
        (
            s.scorer_unit_id,
            {
                "sheet_id": s.id,
                "round_id": round_.id,
                "party": s.party,
                "scorer_tier": s.tier,
                "title": f"{round_.title}（{PARTIES[s.party]}）",
            },
        )
        for s in sheets
    ]
    case_ids = engine.open_many(
        SHEET, items, actor, conn=conn, year=round_.year, parent_id=round_case
    )
    for s, case_id in zip(sheets, case_ids, strict=True):
        conn.execute(update(sheets_t).where(sheets_t.c.id == s.id).values(case_id=case_id))
    # Each scorer's task falls due on the round's last day: the reminders run on it.
    conn.execute(
        update(tasks_t)
        .where(tasks_t.c.case_id.in_(case_ids), tasks_t.c.status == "open")
        .values(due_on=round_.closes_on, due_flag=None, due_days=None)
    )
    tell_holders(conn, case_ids, engine.clock.now())


def _sheet(conn: Connection, sheet_id: int) -> Any:
    row = conn.execute(select(sheets_t).where(sheets_t.c.id == sheet_id)).one_or_none()
    if row is None:
        raise NotFound("评分表不存在")
    return row


def scores_json(scores: Mapping[int, Any]) -> str:
    return json.dumps({str(k): v for k, v in scores.items()})


def submit(
    engine: CaseEngine,
    actor: Actor,
    sheet_id: int,
    scores: Mapping[int, Any],
    *,
    expected_version: int | None = None,
) -> FireResult:
    """A scorer's sheet, submitted once, every task on it scored within the scale."""
    with engine.db.connect() as conn:
        sheet = _sheet(conn, sheet_id)
        if sheet.case_id is None:
            raise NotFound("评分表不存在")
        engine.ensure_visible(conn, sheet.case_id, actor)
        version = conn.execute(
            select(cases_t.c.version).where(cases_t.c.id == sheet.case_id)
        ).scalar_one()
        r = round_row(conn, sheet.round_id)
        today = local_date(engine.clock.now())
        if r.state != "round_scoring" or today > r.closes_on:
            # said in the scorer's words rather than "not from this state"
            raise FormError("scores", f"评分已于{r.closes_on.isoformat()}截止，不能再提交评分")
    return engine.fire(
        sheet.case_id,
        "submit_scores",
        actor,
        {"scores": scores_json(scores)},
        expected_version=version if expected_version is None else expected_version,
    )


def sheet_state(conn: Connection, sheet: Any) -> Any:
    """The sheet's case: its state and the version to submit at."""
    return conn.execute(
        select(cases_t.c.state, cases_t.c.version).where(cases_t.c.id == sheet.case_id)
    ).one()


def round_row(conn: Connection, round_id: int) -> Any:
    row = conn.execute(
        select(
            rounds_t,
            cases_t.c.state,
            cases_t.c.version.label("case_version"),
            units_t.c.name.label("unit_name"),
            units_t.c.path,
        )
        .join(cases_t, cases_t.c.id == rounds_t.c.case_id)
        .join(units_t, units_t.c.id == rounds_t.c.unit_id)
        .where(rounds_t.c.id == round_id)
    ).one_or_none()
    if row is None:
        raise NotFound("考核评分不存在")
    return row


def step(engine: CaseEngine, actor: Actor, round_id: int, event: str) -> FireResult:
    """结束评分 or 公布结果, by the organiser's officers."""
    with engine.db.connect() as conn:
        r = round_row(conn, round_id)
        if not actor.sees(r.path):
            raise NotFound("考核评分不存在")
    return engine.fire(r.case_id, event, actor, {}, expected_version=r.case_version)


# --- who reads what ---------------------------------------------------------------------------
def scorer_of(actor: Actor, sheet: Any, tier: str) -> bool:
    """The officers of the scoring unit itself: a sheet's scores are theirs until the round
    closes, not the units' above (the sheet's seal is declared on its process)."""
    return actor.holds(OFFICER_OF_TIER[tier], sheet.scorer_unit_id)


def sheets_of(conn: Connection, actor: Actor) -> list[Any]:
    """The sheets the actor's units score (as officers of the scorer unit)."""
    units = [b.unit_id for b in actor.bindings if b.role in set(OFFICER_OF_TIER.values())]
    if not units:
        return []
    return list(
        conn.execute(
            select(
                sheets_t,
                rounds_t.c.title,
                rounds_t.c.closes_on,
                cases_t.c.state,
                units_t.c.name.label("unit_name"),
                units_t.c.tier,
            )
            .join(rounds_t, rounds_t.c.id == sheets_t.c.round_id)
            .join(cases_t, cases_t.c.id == sheets_t.c.case_id)
            .join(units_t, units_t.c.id == sheets_t.c.scorer_unit_id)
            .where(sheets_t.c.scorer_unit_id.in_(units))
            .order_by(rounds_t.c.year.desc(), sheets_t.c.id)
        ).all()
    )


def own_scores(conn: Connection, actor: Actor, sheet: Any, tier: str) -> dict[int, float]:
    """What the scorer entered on their own sheet; nobody else reads it here."""
    if not scorer_of(actor, sheet, tier):
        return {}
    return pairs(
        conn.execute(
            select(scores_t.c.task_id, scores_t.c.score).where(scores_t.c.sheet_id == sheet.id)
        )
    )


def rounds_for(conn: Connection, actor: Actor) -> list[Any]:
    """Rounds the actor answers for (the organiser and above, leaders, inspectors), and the
    published ones of units the actor's scope covers (each unit reads its own result)."""
    scopes = actor.scopes()
    if not scopes:
        return []
    rows = conn.execute(
        select(rounds_t, cases_t.c.state, units_t.c.name.label("unit_name"), units_t.c.path)
        .join(cases_t, cases_t.c.id == rounds_t.c.case_id)
        .join(units_t, units_t.c.id == rounds_t.c.unit_id)
        .order_by(rounds_t.c.year.desc(), rounds_t.c.id.desc())
        .limit(200)
    ).all()
    return [r for r in rows if actor.sees(r.path) or _published_to(conn, actor, r)]


def _published_to(conn: Connection, actor: Actor, r: Any) -> bool:
    if r.state != "round_published":
        return False
    units = conn.execute(
        select(units_t.c.path)
        .join(results_t, results_t.c.unit_id == units_t.c.id)
        .where(results_t.c.round_id == r.id)
    ).scalars()
    return any(actor.sees(p) for p in units)


def may_read_results(conn: Connection, actor: Actor, r: Any) -> bool:
    """The totals and ranking: those who answer for the round once it is closed, and the
    scored units once it is published."""
    if r.state == "round_scoring":
        return False
    return actor.sees(r.path) or _published_to(conn, actor, r)


def results(conn: Connection, round_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(results_t, units_t.c.name.label("unit_name"))
            .join(units_t, units_t.c.id == results_t.c.unit_id)
            .where(results_t.c.round_id == round_id)
            .order_by(results_t.c.rank, units_t.c.name)
        ).all()
    )


def progress(conn: Connection, round_id: int) -> list[Any]:
    """Who has scored: each sheet, its unit and party, submitted or not (never the scores)."""
    return list(
        conn.execute(
            select(
                sheets_t.c.id,
                sheets_t.c.party,
                sheets_t.c.submitted_at,
                cases_t.c.state,
                units_t.c.name.label("unit_name"),
            )
            .join(cases_t, cases_t.c.id == sheets_t.c.case_id)
            .join(units_t, units_t.c.id == sheets_t.c.scorer_unit_id)
            .where(sheets_t.c.round_id == round_id)
            .order_by(sheets_t.c.party, units_t.c.name)
        ).all()
    )


# --- handlers ---------------------------------------------------------------------------------
def record_scores(scope: EffectScope, cmd: RecordScores) -> None:
    conn, ctx = scope.conn, scope.ctx
    sheet = conn.execute(select(sheets_t).where(sheets_t.c.case_id == ctx.case.id)).one()
    conn.execute(
        insert(scores_t),
        [{"sheet_id": sheet.id, "task_id": t, "score": s} for t, s in cmd.scores.items()],
    )
    conn.execute(update(sheets_t).where(sheets_t.c.id == sheet.id).values(submitted_at=ctx.now))


def close_round(scope: EffectScope, cmd: CloseRound) -> None:
    """Totals, ranking and the unsealed scores on the round's record; open sheets closed as
    missed (in bulk, through the engine)."""
    conn, ctx = scope.conn, scope.ctx
    round_ = conn.execute(select(rounds_t).where(rounds_t.c.case_id == ctx.case.id)).one()
    tasks = round_tasks(conn, round_)
    given = conn.execute(
        select(
            scores_t.c.task_id,
            sheets_t.c.party,
            scores_t.c.score,
            sheets_t.c.id,
            sheets_t.c.scorer_unit_id,
        )
        .join(sheets_t, sheets_t.c.id == scores_t.c.sheet_id)
        .where(sheets_t.c.round_id == round_.id)
        .order_by(sheets_t.c.id, scores_t.c.task_id)
    ).all()
    weights = {p: float(w) for p, w in round_.weights.items()}
    per_task, per_unit = totals(
        [(t.id, t.lead_unit_id, t.weight) for t in tasks],
        [(g.task_id, g.party, g.score) for g in given],
        weights,
    )
    names = {t.lead_unit_id: t.lead_name for t in tasks}
    conn.execute(
        insert(results_t),
        [
            {
                "round_id": round_.id,
                "unit_id": u.unit_id,
                "total": u.total,
                "rank": u.rank,
                "tasks": u.tasks,
                "note": tie_note(u, names) or None,
            }
            for u in per_unit
        ],
    )
    sheets: dict[str, dict[str, Any]] = {}
    for g in given:
        entry = sheets.setdefault(
            str(g.id), {"party": g.party, "unit_id": g.scorer_unit_id, "scores": {}}
        )
        entry["scores"][str(g.task_id)] = g.score
    scope.record["scores"] = sheets
    scope.record["results"] = {
        "units": [
            {
                "unit_id": u.unit_id,
                "name": names.get(u.unit_id, ""),
                "total": u.total,
                "rank": u.rank,
                "note": tie_note(u, names),
            }
            for u in per_unit
        ],
        "tasks": [{"task_id": r.task_id, "total": round(r.total, 2)} for r in per_task],
    }
    open_sheets = (
        conn.execute(
            select(cases_t.c.id)
            .join(sheets_t, sheets_t.c.case_id == cases_t.c.id)
            .where(sheets_t.c.round_id == round_.id, cases_t.c.state == "sheet_open")
        )
        .scalars()
        .all()
    )
    if open_sheets:
        scope.engine.fire_many(
            SHEET, [Move(c, "miss_sheet") for c in open_sheets], SYSTEM_ACTOR, conn=conn
        )
    scope.record["missed"] = len(open_sheets)


def publish_round(scope: EffectScope, cmd: PublishRound) -> None:
    """Each scored unit hears its total and rank; the scorers hear that it is out."""
    conn, ctx = scope.conn, scope.ctx
    round_ = conn.execute(select(rounds_t).where(rounds_t.c.case_id == ctx.case.id)).one()
    rows = conn.execute(
        select(results_t.c.unit_id, results_t.c.total, results_t.c.rank, units_t.c.tier)
        .join(units_t, units_t.c.id == results_t.c.unit_id)
        .where(results_t.c.round_id == round_.id)
    ).all()
    today = ctx.today.isoformat()
    notices = [
        step_notice(
            ctx.case.id,
            "task_scores_published",
            ctx.now,
            (r.unit_id, r.tier),
            round_.title,
            f"贵单位总分{r.total:.2f}分，排名第{r.rank}名",
            today,
        )
        for r in rows
    ]
    scored = {r.unit_id for r in rows}
    others = conn.execute(
        select(sheets_t.c.scorer_unit_id, units_t.c.tier)
        .join(units_t, units_t.c.id == sheets_t.c.scorer_unit_id)
        .where(sheets_t.c.round_id == round_.id)
        .distinct()
    ).all()
    notices += [
        step_notice(
            ctx.case.id,
            "task_scores_published",
            ctx.now,
            (o.scorer_unit_id, o.tier),
            round_.title,
            "考核结果已公布",
            today,
        )
        for o in others
        if o.scorer_unit_id not in scored and o.scorer_unit_id != round_.unit_id
    ]
    send_many(conn, notices)
    scope.record["published"] = len(rows)


def due_rounds(conn: Connection, today: dt.date) -> list[tuple[int, int]]:
    """Rounds still scoring whose last day is over: (case id, version)."""
    return [
        (r.id, r.version)
        for r in conn.execute(
            select(cases_t.c.id, cases_t.c.version)
            .join(rounds_t, rounds_t.c.case_id == cases_t.c.id)
            .where(cases_t.c.state == "round_scoring", rounds_t.c.closes_on < today)
        )
    ]


def readable_sheet(conn: Connection, actor: Actor, sheet_id: int) -> tuple[Any, Any, str]:
    """A sheet, its round and its scorer unit's tier, for the officers of its scorer unit
    (and those over it, who see that it exists, not what it says)."""
    sheet = _sheet(conn, sheet_id)
    unit = unit_row(conn, sheet.scorer_unit_id)
    if not actor.sees(unit.path):
        raise NotFound("评分表不存在")
    r = round_row(conn, sheet.round_id)
    return sheet, r, unit.tier
