"""Registration: online, by the holder of a mobile number proved by an SMS code, and in bulk
by the province's import; and the identity claims that arise when an ID number registered
from one phone is asked for from another.

Online, the registration is bound to the phone that confirmed it (``confirmed_phone``, equal
to ``phone`` by a check constraint), and one confirmed phone registers one ID number a round
(a partial unique index). What an attempt may be refused for falls in two kinds:

- what depends on the form alone — the registration window, the post, eligibility — is
  checked before the code (``check_form``): a typo costs no code, and the answer says
  nothing about anyone's registration;
- what depends on other people's registrations — the ID number or the phone already used —
  is checked after the code, and the code is used up whatever the answer, in its own
  transaction when the registration is refused: one code, one answer, so a code cannot be
  replayed to ask "is this ID number registered?" for a list of numbers.

An ID number already registered from another phone is answered with a message to come to
the recruitment office, and recorded as a claim (``registration_conflicts``) that officers
settle at the qualification check through the engine: ``void_registration`` frees the ID
number for its holder, ``confirm_identity`` dismisses the claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from states.clock import local_date
from states.engine import CaseEngine
from states.errors import FormError, NotFound, RuleRefused
from states.org import Actor, Binding
from states.processes.recruitment.machine import APPLICANT
from states.processes.recruitment.rules import Candidate, PostNeeds, eligibility
from states.processes.recruitment.spec import SettleClaims
from states.processes.recruitment.tables import (
    Applicant,
    Post,
    RecruitmentRound,
    RegistrationConflict,
)
from states.store.models import Case, table_of
from states.verification import use_code

cases_t, posts_t, rounds_t = table_of(Case), table_of(Post), table_of(RecruitmentRound)
applicants_t, claims_t = table_of(Applicant), table_of(RegistrationConflict)

ALREADY = "该身份证号今年已报名，每人每年限报一个岗位"
PHONE_USED = "该手机号本轮已用于报名，每个手机号只能为一人报名"
# Neither "registered" nor "not registered": the holder of the ID card settles it in person.
SEE_OFFICE = "该身份证号的报名信息需核实，请携带身份证联系招聘办公室（电话见招聘公告）"


def public_applicant(name: str) -> Actor:
    """The actor of an online registration: the applicant, who has no account."""
    return Actor(None, f"{name}（网上报名）", (Binding("public", 0, "/"),))


@dataclass
class ImportReport:
    created: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # row, field, reason
    case_ids: list[int] = field(default_factory=list)  # of the rows registered, in order
    claimed: list[int] = field(default_factory=list)  # registrations another phone claims


# Built once: on registration day these run for every applicant.
ROUND = select(rounds_t).where(rounds_t.c.id == bindparam("round_id"))
OPEN_POSTS = (
    select(posts_t, rounds_t.c.max_age)
    .join(rounds_t, rounds_t.c.id == posts_t.c.round_id)
    .join(cases_t, cases_t.c.id == posts_t.c.plan_case_id)
    .where(posts_t.c.round_id == bindparam("round_id"), cases_t.c.state == "approved")
)
OPEN_POSTS_BY_CODE = OPEN_POSTS.where(posts_t.c.code.in_(bindparam("codes", expanding=True)))
LIVE = applicants_t.c.voided_at.is_(None)
# One application per ID number a year, whichever round (the partial unique index's predicate
# is repeated so that the planner uses it).
TAKEN = select(applicants_t.c.id_number).where(
    applicants_t.c.year == bindparam("year"),
    applicants_t.c.id_number.in_(bindparam("ids", expanding=True)),
    LIVE,
)
BY_ID = select(applicants_t.c.case_id, applicants_t.c.phone).where(
    applicants_t.c.year == bindparam("year"),
    applicants_t.c.id_number == bindparam("id_number"),
    LIVE,
)
BY_PHONE = (
    select(applicants_t.c.case_id)
    .where(
        applicants_t.c.round_id == bindparam("round_id"),
        applicants_t.c.confirmed_phone == bindparam("phone"),
        LIVE,
    )
    .limit(1)
)
INSERT_APPLICANTS = insert(applicants_t)


def _open_posts(
    conn: Connection, round_id: int, codes: Collection[str] | None = None
) -> dict[str, Any]:
    """The round's posts open for registration (their plan approved), by code; only
    ``codes`` when given — one registration need not read a province's 2,000 posts."""
    if codes is None:
        rows = conn.execute(OPEN_POSTS, {"round_id": round_id}).all()
    else:
        rows = conn.execute(OPEN_POSTS_BY_CODE, {"round_id": round_id, "codes": list(codes)}).all()
    return {r.code: r for r in rows}


def _round(conn: Connection, round_id: int, today: dt.date, *, window: bool) -> Any:
    rnd = conn.execute(ROUND, {"round_id": round_id}).one_or_none()
    if rnd is None:
        raise NotFound("招聘轮次不存在")
    if window and rnd.registration_closed_at is not None:
        raise RuleRefused(
            "registration_window",
            f"本轮报名已于{local_date(rnd.registration_closed_at).isoformat()}截止",
        )
    if window and not rnd.registration_opens <= today <= rnd.registration_closes:
        raise RuleRefused(
            "registration_window",
            f"报名时间为{rnd.registration_opens.isoformat()}"
            f"至{rnd.registration_closes.isoformat()}",
        )
    return rnd


def _form_problems(r: Mapping[str, Any], post: Any, today: dt.date) -> list[tuple[str, str]]:
    """What is wrong with a row by itself: its post, and the candidate's eligibility for it."""
    if post is None:
        return [("post_code", f"岗位{r['post_code']}不存在或未批准")]
    return eligibility(
        Candidate(r["birth_date"], r["education"], r.get("cert_level") or None),
        PostNeeds(post.school_level, post.min_education, post.cert_required, post.max_age),
        today,
    )


def check_form(engine: CaseEngine, round_id: int, form: Mapping[str, Any]) -> None:
    """Refuse an online registration for what the form alone decides (window, post,
    eligibility), before its code is looked at; the registration checks them again."""
    today = local_date(engine.clock.now())
    with engine.db.connect() as conn:
        _round(conn, round_id, today, window=True)
        posts = _open_posts(conn, round_id, {form["post_code"]})
    problems = _form_problems(form, posts.get(form["post_code"]), today)
    if problems:
        raise FormError(*problems[0])


def _identity(
    conn: Connection, round_id: int, year: int, id_number: str, phone: str
) -> tuple[str, str, int | None] | None:
    """Why the holder of confirmed ``phone`` may not register ``id_number`` now, if they
    may not: (field, reason, the registration of the year their claim is on)."""
    same_id = conn.execute(BY_ID, {"year": year, "id_number": id_number}).one_or_none()
    if same_id is not None and same_id.phone == phone:
        return ("id_number", ALREADY, None)
    if conn.execute(BY_PHONE, {"round_id": round_id, "phone": phone}).first() is not None:
        return ("phone", PHONE_USED, None)
    if same_id is not None:
        return ("id_number", SEE_OFFICE, int(same_id.case_id))
    return None


def register_many(
    engine: CaseEngine,
    actor: Actor,
    round_id: int,
    rows: Sequence[Mapping[str, Any]],
    *,
    valid_only: bool = False,
    also: Callable[[Connection], None] | None = None,
    confirmed: bool = False,
) -> ImportReport:
    """Register applicants (validated rows: id_number, name, phone, gender, birth_date,
    education, cert_level, post_code, and ``row`` for the report). Eligibility is checked
    per row; with any error nothing is written unless ``valid_only``.

    ``confirmed``: rows registered online, inside the window, each by the holder of its
    phone (proved by a code); they are bound to that phone. An officer's import is not."""
    report = ImportReport()
    now = engine.clock.now()
    today = local_date(now)
    with engine.db.begin() as conn:
        rnd = _round(conn, round_id, today, window=confirmed)
        posts = _open_posts(conn, round_id, {r["post_code"] for r in rows} if confirmed else None)
        taken: set[str] = set()
        if not confirmed:
            ids = [r["id_number"] for r in rows]
            taken.update(conn.execute(TAKEN, {"year": rnd.year, "ids": ids}).scalars())
        good: list[Mapping[str, Any]] = []
        for r in rows:
            row = int(r.get("row", 0))
            problems = _form_problems(r, posts.get(r["post_code"]), today)
            if problems:
                report.errors.extend((row, f, reason) for f, reason in problems)
                continue
            if confirmed:
                clash = _identity(conn, round_id, rnd.year, r["id_number"], r["phone"])
                if clash is not None:
                    report.errors.append((row, clash[0], clash[1]))
                    report.claimed.extend([clash[2]] if clash[2] is not None else [])
                    continue
            elif r["id_number"] in taken:
                report.errors.append((row, "id_number", ALREADY))
                continue
            taken.add(r["id_number"])
            good.append(r)
        if report.errors and not valid_only:
            return report
        items = [(posts[r["post_code"]].county_id, {"round_id": round_id}) for r in good]
        ids = engine.open_many(APPLICANT, items, actor, conn=conn, year=rnd.year)
        conn.execute(
            INSERT_APPLICANTS,
            [
                {
                    "case_id": cid,
                    "round_id": round_id,
                    "year": rnd.year,
                    "post_id": posts[r["post_code"]].id,
                    "id_number": r["id_number"],
                    "name": r["name"],
                    "phone": r["phone"],
                    "confirmed_phone": r["phone"] if confirmed else None,
                    "gender": r["gender"],
                    "birth_date": r["birth_date"],
                    "education": r["education"],
                    "cert_level": r.get("cert_level") or None,
                    "registered_at": now,
                }
                for cid, r in zip(ids, good, strict=True)
            ],
        )
        report.created, report.case_ids = len(ids), ids
        if also is not None:  # e.g. consume the registrant's verification code, atomically
            also(conn)
    return report


def register(
    engine: CaseEngine, round_id: int, form: Mapping[str, Any], *, code_id: int | None = None
) -> int:
    """One applicant registering online with ``form['phone']``, which the checked code
    ``code_id`` proved: one transaction, refused whole when any check fails. The code is
    used up either way — by the registration, or in a transaction of its own that also
    records a claim on an ID number registered from another phone — and a refusal is only
    told once the code is used, so two attempts sent at once with one code get one answer."""
    now = engine.clock.now()

    def spend(conn: Connection) -> None:
        if code_id is not None:
            use_code(conn, code_id, now)

    try:
        report = register_many(
            engine, public_applicant(form["name"]), round_id, [form], also=spend, confirmed=True
        )
    except IntegrityError:  # a registration of the same ID number or phone won a race
        report = None
    if report is not None and not report.errors:
        return report.case_ids[0]
    with engine.db.begin() as conn:
        spend(conn)
        if report is None:
            year = _round(conn, round_id, local_date(now), window=False).year
            clash = _identity(conn, round_id, year, form["id_number"], form["phone"])
            field_, reason, claimed = clash or ("id_number", ALREADY, None)
            claims = [claimed] if claimed is not None else []
        else:
            _, field_, reason = report.errors[0]
            claims = report.claimed
        for case_id in claims:
            _claim(conn, round_id, case_id, form, now)
    raise FormError(field_, reason)


def _claim(
    conn: Connection, round_id: int, case_id: int, form: Mapping[str, Any], now: dt.datetime
) -> None:
    """Record that the holder of ``form['phone']`` claims the ID number of ``case_id``
    (once while unsettled, however often they try)."""
    known = conn.execute(
        select(claims_t.c.id).where(
            claims_t.c.case_id == case_id,
            claims_t.c.claimed_phone == form["phone"],
            claims_t.c.resolved_at.is_(None),
        )
    ).first()
    if known is None:
        conn.execute(
            insert(claims_t).values(
                round_id=round_id,
                case_id=case_id,
                id_number=form["id_number"],
                claimed_name=str(form["name"])[:64],
                claimed_phone=form["phone"],
                created_at=now,
            )
        )


def settle_claims(scope: Any, cmd: SettleClaims) -> None:
    """The effect of ``void_registration`` and ``confirm_identity``, in the transition's
    transaction: the case's open claims closed, their ids on its audit row; a voided
    registration's ID number and phone freed (its row kept, as the record)."""
    conn, case_id, now = scope.conn, scope.ctx.case.id, scope.ctx.now
    settled = conn.execute(
        update(claims_t)
        .where(claims_t.c.case_id == case_id, claims_t.c.resolved_at.is_(None))
        .values(resolved_at=now, resolution=cmd.resolution)
        .returning(claims_t.c.id)
    ).scalars()
    scope.record["claims"] = sorted(int(i) for i in settled)
    if cmd.voids:
        conn.execute(
            update(applicants_t).where(applicants_t.c.case_id == case_id).values(voided_at=now)
        )


__all__ = [
    "ALREADY",
    "PHONE_USED",
    "SEE_OFFICE",
    "ImportReport",
    "check_form",
    "public_applicant",
    "register",
    "register_many",
    "settle_claims",
]
