"""Recruitment operations over the store: plans, scores, the qualification check, the
set-based steps (shortlist, ranking, replacement) and post choice; registration lives in
``registration.py`` and is re-exported here. Every change of an applicant's state goes
through the engine (``fire``, ``fire_in`` or ``fire_many``); the ranking itself is SQL window
functions, so a province's 200,000 applicants are ranked in one pass, not a Python loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Numeric, bindparam, cast, func, insert, select, update

from states.clock import local_date
from states.engine import CaseEngine, Move
from states.errors import Conflict, FormError, NotFound, PermissionDenied, RuleRefused
from states.org import CITY_OFFICER, COUNTY_OFFICER, PROVINCE_OFFICER, SYSTEM, Actor
from states.processes.recruitment import order
from states.processes.recruitment.facts import eligibility_rows
from states.processes.recruitment.machine import APPLICANT, PLAN
from states.processes.recruitment.registration import (
    ImportReport,
    check_form,
    public_applicant,
    register,
    register_many,
)
from states.processes.recruitment.rules import candidate_and_post, eligibility
from states.processes.recruitment.spec import APPLICANT_SPEC
from states.processes.recruitment.tables import (
    Applicant,
    Post,
    PostSeat,
    RecruitmentRound,
    RegistrationConflict,
)
from states.store.models import Case, table_of

cases_t, posts_t, seats_t = table_of(Case), table_of(Post), table_of(PostSeat)
applicants_t, rounds_t = table_of(Applicant), table_of(RecruitmentRound)
claims_t = table_of(RegistrationConflict)

ACTIVE = (
    "physical",
    "background",
    "publicity",
    "objection_review",
    "choosing",
    "probation",
    "confirmed",
)


def open_round(
    conn: Connection,
    *,
    province_id: int,
    year: int,
    name: str,
    registration_opens: dt.date,
    registration_closes: dt.date,
    replacement_deadline: dt.date | None = None,
    written_weight: float = 0.5,
    shortlist_ratio: int = 3,
    max_age: int = 35,
    announcement: str | None = None,
) -> int:
    """A province's round for the year, with its policy (defaults: written and interview
    weighed 50/50, 1:3 to interview, age 35) and its dates; returns its id. What an officer
    opens is checked first (``rounds.open_round_as``)."""
    return int(
        conn.execute(
            insert(rounds_t)
            .values(
                province_id=province_id,
                year=year,
                name=name,
                written_weight=written_weight,
                shortlist_ratio=shortlist_ratio,
                registration_opens=registration_opens,
                registration_closes=registration_closes,
                replacement_deadline=replacement_deadline,
                max_age=max_age,
                announcement=announcement,
            )
            .returning(rounds_t.c.id)
        ).scalar_one()
    )


# --- the post plan --------------------------------------------------------------------------
def declare_plan(
    engine: CaseEngine,
    actor: Actor,
    round_id: int,
    county_id: int,
    posts: Sequence[Mapping[str, Any]],
    *,
    note: str | None = None,
) -> int:
    """A county declares its vacant posts (and the schools' seats for each) as one plan case.
    What an officer sends is checked first (``rounds.declare_posts``)."""
    if not actor.holds(COUNTY_OFFICER, county_id):
        raise PermissionDenied("岗位计划须由本县（区）教育局人事股申报")
    data: dict[str, Any] = {"round_id": round_id} | ({"note": note} if note else {})
    with engine.db.begin() as conn:
        [case_id] = engine.open_many(PLAN, [(county_id, data)], actor, conn=conn)
        for p in posts:
            seats = p["seats"]
            if sum(s["seats"] for s in seats) != p["count"]:
                raise FormError("seats", f"岗位{p['code']}各校名额之和应等于招聘人数{p['count']}")
            post_id = conn.execute(
                insert(posts_t)
                .values(
                    round_id=round_id,
                    plan_case_id=case_id,
                    county_id=county_id,
                    code=p["code"],
                    subject=p["subject"],
                    school_level=p["school_level"],
                    count=p["count"],
                    min_education=p["min_education"],
                    cert_required=p.get("cert_required", True),
                )
                .returning(posts_t.c.id)
            ).scalar_one()
            conn.execute(
                insert(seats_t),
                [
                    {
                        "post_id": post_id,
                        "school_id": s["school_id"],
                        "seats": s["seats"],
                        "taken": 0,
                    }
                    for s in seats
                ],
            )
    return case_id


# --- registration (states/processes/recruitment/registration.py) ---------------------------


def qualify_all(engine: CaseEngine, actor: Actor, round_id: int) -> dict[str, int]:
    """资格审查 for every registration waiting in the actor's counties: the same eligibility
    rules as at registration, read again from the records; those who fail are disqualified
    with the reasons. A registration whose ID number another phone claims is held back
    (``held``) until an officer has settled the claim."""
    today = local_date(engine.clock.now())
    with engine.db.begin() as conn:
        rows = conn.execute(
            eligibility_rows().where(
                applicants_t.c.round_id == round_id, cases_t.c.state == "registered"
            )
        ).all()
        claimed = set(
            conn.execute(
                select(claims_t.c.case_id).where(
                    claims_t.c.round_id == round_id, claims_t.c.resolved_at.is_(None)
                )
            ).scalars()
        )
        moves: list[Move] = []
        held = 0
        for r in rows:
            if not actor.sees(r.org_path):
                continue
            if r.case_id in claimed:
                held += 1
                continue
            problems = eligibility(*candidate_and_post(r), today)
            if problems:
                moves.append(
                    Move(
                        r.case_id,
                        "disqualify",
                        {"reason": "；".join(reason for _, reason in problems)},
                    )
                )
            else:
                moves.append(Move(r.case_id, "qualify"))
        # the eligibility rule was just evaluated above, row by row
        engine.fire_many(APPLICANT, moves, actor, conn=conn, rules_checked=True)
    ok = sum(1 for m in moves if m.event == "qualify")
    done = {"qualified": ok, "disqualified": len(moves) - ok}
    return {**done, "held": held} if held else done


# --- scores and the set-based steps -------------------------------------------------------
def record_scores(
    engine: CaseEngine,
    actor: Actor,
    round_id: int,
    kind: str,
    scores: Iterable[tuple[str, float | None]],
) -> int:
    """Written (province) or interview (city) scores by ID number; a missing score means
    absent. Moves each applicant on through ``fire_many``."""
    column, event, state = {
        "written": ("written_score", "record_written", "qualified"),
        "interview": ("interview_score", "record_interview", "shortlisted"),
    }[kind]
    by_id = dict(scores)
    with engine.db.begin() as conn:
        rows = conn.execute(
            select(applicants_t.c.case_id, applicants_t.c.id_number)
            .join(cases_t, cases_t.c.id == applicants_t.c.case_id)
            .where(
                applicants_t.c.round_id == round_id,
                cases_t.c.state == state,
                applicants_t.c.id_number.in_(list(by_id)),
            )
        ).all()
        if rows:
            conn.execute(
                update(applicants_t)
                .where(applicants_t.c.case_id == bindparam("a_id"))
                .values({column: bindparam("a_score")}),
                [{"a_id": r.case_id, "a_score": by_id[r.id_number]} for r in rows],
            )
        moves = [
            Move(
                r.case_id,
                event,
                {} if by_id[r.id_number] is None else {"score": by_id[r.id_number]},
            )
            for r in rows
        ]
        engine.fire_many(APPLICANT, moves, actor, conn=conn)
    return len(rows)


SCORE_STEPS: Mapping[str, tuple[str, str]] = {
    "written": ("qualified", "笔试"),
    "interview": ("shortlisted", "面试"),
}


def score_problems(
    engine: CaseEngine, round_id: int, kind: str, id_numbers: Sequence[str]
) -> dict[str, str]:
    """Why a score row cannot be recorded, by ID number: nobody of that number registered in
    the round (a typo, or another round's list), or the applicant is not at the step this
    score belongs to (a written score for someone not qualified, an interview score for
    someone not shortlisted). A row dropped silently is a candidate who never gets a score."""
    state, what = SCORE_STEPS[kind]
    found: dict[str, str] = {}
    wanted = sorted(set(id_numbers))
    with engine.db.connect() as conn:
        for i in range(0, len(wanted), 500):
            found.update(
                (number, now)
                for number, now in conn.execute(
                    select(applicants_t.c.id_number, cases_t.c.state)
                    .join(cases_t, cases_t.c.id == applicants_t.c.case_id)
                    .where(
                        applicants_t.c.round_id == round_id,
                        applicants_t.c.voided_at.is_(None),
                        applicants_t.c.id_number.in_(wanted[i : i + 500]),
                    )
                )
            )
    out: dict[str, str] = {}
    for number in wanted:
        now = found.get(number)
        if now is None:
            out[number] = "本轮招聘没有该身份证号的报名"
        elif now != state:
            label = APPLICANT_SPEC.state_label(now)
            out[number] = f"该考生目前处于“{label}”环节，不能录入{what}成绩"
    return out


def _round(conn: Connection, round_id: int) -> Any:
    """The round's policy row; a round that does not exist is not found (404), never a
    crash."""
    row = conn.execute(
        select(
            rounds_t.c.shortlist_ratio, rounds_t.c.written_weight, rounds_t.c.replacement_deadline
        ).where(rounds_t.c.id == round_id)
    ).one_or_none()
    if row is None:
        raise NotFound("招聘轮次不存在")
    return row


def require_selector(actor: Actor) -> None:
    """The round-level steps of "city selects" are the city's (or the province's)."""
    if not (actor.holds(CITY_OFFICER) or actor.holds(PROVINCE_OFFICER) or actor.holds(SYSTEM)):
        raise PermissionDenied("入围、排名与递补须由市教育局人事处或省教育厅办理")


def shortlist(engine: CaseEngine, actor: Actor, round_id: int) -> dict[str, int]:
    """入围: per post, the top ``count × ratio`` by written score; everyone tied with the last
    place goes through (RANK gives ties the same rank). Absent applicants do not. Refused
    while any candidate still waits for a qualification check or a written score
    (``order.ready``): a shortlist drawn from half the scores is a wrong shortlist."""
    require_selector(actor)
    with engine.db.begin() as conn:
        ratio = _round(conn, round_id).shortlist_ratio
        order.ready(conn, round_id, "shortlist")
        ranked = (
            select(
                applicants_t.c.case_id,
                applicants_t.c.written_score,
                posts_t.c.count,
                func.rank()
                .over(
                    partition_by=applicants_t.c.post_id,
                    order_by=applicants_t.c.written_score.desc().nulls_last(),
                )
                .label("r"),
            )
            .join(posts_t, posts_t.c.id == applicants_t.c.post_id)
            .join(cases_t, cases_t.c.id == applicants_t.c.case_id)
            .where(applicants_t.c.round_id == round_id, cases_t.c.state == "examined")
        ).subquery()
        rows = conn.execute(select(ranked)).all()
        moves = [
            Move(
                r.case_id,
                "shortlist"
                if r.written_score is not None and r.r <= r.count * ratio
                else "not_shortlist",
            )
            for r in rows
        ]
        engine.fire_many(APPLICANT, moves, actor, conn=conn)
    through = sum(1 for m in moves if m.event == "shortlist")
    return {"shortlisted": through, "not_shortlisted": len(moves) - through}


def rank(engine: CaseEngine, actor: Actor, round_id: int) -> dict[str, int]:
    """Composite score with the round's weights, ranked per post (ties: higher written score,
    then earlier registration); the top ``count`` go to the physical, the rest in reserve.
    Refused while any candidate still waits for an earlier step (``order.ready``)."""
    require_selector(actor)
    with engine.db.begin() as conn:
        weight = _round(conn, round_id).written_weight
        order.ready(conn, round_id, "ranking")
        interviewed = select(cases_t.c.id).where(
            cases_t.c.process == APPLICANT, cases_t.c.state == "interviewed"
        )
        conn.execute(
            update(applicants_t)
            .where(applicants_t.c.round_id == round_id, applicants_t.c.case_id.in_(interviewed))
            .values(
                composite=func.round(
                    cast(
                        func.coalesce(applicants_t.c.written_score, 0) * weight
                        + func.coalesce(applicants_t.c.interview_score, 0) * (1 - weight),
                        Numeric,
                    ),
                    2,
                )
            )
        )
        ordered = (
            select(
                applicants_t.c.case_id,
                posts_t.c.count,
                func.row_number()
                .over(
                    partition_by=applicants_t.c.post_id,
                    order_by=(
                        applicants_t.c.composite.desc().nulls_last(),
                        applicants_t.c.written_score.desc().nulls_last(),
                        applicants_t.c.registered_at.asc(),
                        applicants_t.c.case_id.asc(),
                    ),
                )
                .label("n"),
            )
            .join(posts_t, posts_t.c.id == applicants_t.c.post_id)
            .join(cases_t, cases_t.c.id == applicants_t.c.case_id)
            .where(applicants_t.c.round_id == round_id, cases_t.c.state == "interviewed")
        ).subquery()
        rows = conn.execute(select(ordered)).all()
        if rows:
            conn.execute(
                update(applicants_t)
                .where(applicants_t.c.case_id == bindparam("a_id"))
                .values(rank=bindparam("a_rank"), choice_turn=bindparam("a_rank")),
                [{"a_id": r.case_id, "a_rank": r.n} for r in rows],
            )
        moves = [Move(r.case_id, "to_physical" if r.n <= r.count else "to_reserve") for r in rows]
        engine.fire_many(APPLICANT, moves, actor, conn=conn)
    ahead = sum(1 for m in moves if m.event == "to_physical")
    return {"to_physical": ahead, "reserve": len(moves) - ahead}


def fill_vacancies(engine: CaseEngine, actor: Actor, round_id: int) -> int:
    """递补: where dropouts leave a post short, the next-ranked in reserve move up — after
    the ranking, until the replacement deadline (refused after it, not silently none)."""
    require_selector(actor)
    today = local_date(engine.clock.now())
    with engine.db.begin() as conn:
        deadline = _round(conn, round_id).replacement_deadline
        if deadline is not None and today > deadline:
            raise Conflict(f"递补截止日期{deadline.isoformat()}已过，不再递补")
        order.ready(conn, round_id, "replacements")
        states = (
            select(
                applicants_t.c.post_id, cases_t.c.state, applicants_t.c.case_id, applicants_t.c.rank
            )
            .join(cases_t, cases_t.c.id == applicants_t.c.case_id)
            .where(applicants_t.c.round_id == round_id)
        ).subquery()
        active: dict[int, int] = {
            r.post_id: int(r.n)
            for r in conn.execute(
                select(states.c.post_id, func.count().label("n"))
                .where(states.c.state.in_(ACTIVE))
                .group_by(states.c.post_id)
            )
        }
        counts: dict[int, int] = {
            r[0]: int(r[1])
            for r in conn.execute(
                select(posts_t.c.id, posts_t.c.count).where(posts_t.c.round_id == round_id)
            )
        }
        moves: list[Move] = []
        for post_id, count in counts.items():
            short = count - active.get(post_id, 0)
            if short <= 0:
                continue
            moves.extend(
                Move(case_id, "to_physical")
                for case_id in conn.execute(
                    select(states.c.case_id)
                    .where(states.c.post_id == post_id, states.c.state == "reserve")
                    .order_by(states.c.rank)
                    .limit(short)
                ).scalars()
            )
        engine.fire_many(APPLICANT, moves, actor, conn=conn)
    return len(moves)


def run(engine: CaseEngine, actor: Actor, round_id: int, action: str) -> dict[str, int]:
    """One of the round-level steps (``order.ACTIONS``) by its name, with its counts: what
    the round page's buttons, the API and ``renshi recruitment step`` all call."""
    if action == "qualify":
        return qualify_all(engine, actor, round_id)
    if action == "shortlist":
        return shortlist(engine, actor, round_id)
    if action == "ranking":
        return rank(engine, actor, round_id)
    if action == "replacements":
        return {"moved_up": fill_vacancies(engine, actor, round_id)}
    raise NotFound("办理操作不存在")


# --- post choice ------------------------------------------------------------------------------
def choose_post(
    engine: CaseEngine, actor: Actor, case_id: int, seat_id: int, *, expected_version: int
) -> None:
    """选岗: in rank order, each choice takes a place at a school; a full school cannot be
    chosen and a post cannot be overfilled."""
    with engine.db.begin() as conn:
        engine.ensure_visible(conn, case_id, actor)
        me = conn.execute(
            select(applicants_t.c.post_id, applicants_t.c.choice_turn).where(
                applicants_t.c.case_id == case_id
            )
        ).one_or_none()
        if me is None:
            raise NotFound("事项不存在")
        first = conn.execute(
            select(applicants_t.c.case_id)
            .join(cases_t, cases_t.c.id == applicants_t.c.case_id)
            .where(applicants_t.c.post_id == me.post_id, cases_t.c.state == "choosing")
            .order_by(applicants_t.c.choice_turn, applicants_t.c.case_id)
            .limit(1)
        ).scalar()
        if first != case_id:
            raise RuleRefused("choice_turn", "尚未轮到该考生选岗，须按成绩排名顺序依次选岗")
        seat = conn.execute(
            select(seats_t).where(seats_t.c.id == seat_id).with_for_update()
        ).one_or_none()
        if seat is None or seat.post_id != me.post_id:
            raise FormError("seat_id", "所选学校不属于该考生报考的岗位")
        if seat.taken >= seat.seats:
            raise RuleRefused("seat_full", "该校此岗位名额已满，请另选学校")
        engine.fire_in(
            conn,
            case_id,
            "choose_post",
            actor,
            {"seat_id": seat_id},
            expected_version=expected_version,
        )
        taken = conn.execute(
            update(seats_t)
            .where(seats_t.c.id == seat_id, seats_t.c.taken < seats_t.c.seats)
            .values(taken=seats_t.c.taken + 1)
        ).rowcount
        if taken != 1:
            raise Conflict("该校名额刚被他人选定，请刷新后重选")
        conn.execute(
            update(applicants_t).where(applicants_t.c.case_id == case_id).values(seat_id=seat_id)
        )


def skip_choice(engine: CaseEngine, actor: Actor, case_id: int, *, expected_version: int) -> None:
    """A candidate who did not choose in time goes to the end of the queue."""
    with engine.db.begin() as conn:
        engine.ensure_visible(conn, case_id, actor)
        post_id = conn.execute(
            select(applicants_t.c.post_id).where(applicants_t.c.case_id == case_id)
        ).scalar_one()
        last = conn.execute(
            select(func.max(applicants_t.c.choice_turn)).where(applicants_t.c.post_id == post_id)
        ).scalar_one()
        engine.fire_in(conn, case_id, "skip_choice", actor, {}, expected_version=expected_version)
        conn.execute(
            update(applicants_t)
            .where(applicants_t.c.case_id == case_id)
            .values(choice_turn=int(last or 0) + 1)
        )


__all__ = [
    "ImportReport",
    "check_form",
    "choose_post",
    "declare_plan",
    "fill_vacancies",
    "public_applicant",
    "qualify_all",
    "rank",
    "record_scores",
    "register",
    "register_many",
    "run",
    "score_problems",
    "shortlist",
    "skip_choice",
]
