"""Recruitment reads and actions shared by the JSON API and the pages.

The JSON routes and the pages answer the same questions (which posts are open, how far each
county has got, what a spreadsheet import found wrong, what goes into an export); each answer
is computed here once, so a fix to one cannot leave the other behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Final

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from api.deps import Services
from states.errors import FormError, NotFound, PermissionDenied
from states.identity import (
    birth_date_of,
    gender_of,
    mask_id_number,
    validate_id_number,
    validate_phone,
)
from states.org import CITY_OFFICER, COUNTY_OFFICER, PROVINCE_OFFICER, SCOPE_ROLES, SYSTEM, Actor
from states.processes.recruitment import steps as rec
from states.processes.recruitment.sheets import APPLICANTS, INTERVIEW_SCORES, WRITTEN_SCORES
from states.processes.recruitment.spec import (
    HIRED,
    PAST_QUALIFICATION,
    PAST_RANKING,
    PAST_SHORTLIST,
)
from states.processes.recruitment.tables import (
    Applicant,
    Post,
    PostSeat,
    RecruitmentRound,
)
from states.sheets import SheetError, read_table, validate, write_xlsx
from states.store.db import reader
from states.store.models import Case, OrgUnit, table_of
from states.verification import check_code

MAX_UPLOAD: Final = 64 * 1024 * 1024
MAX_REPORTED: Final = 1000

# Who imports what: registrations and written scores are the province's, interviews the city's.
IMPORT_ROLES: Final = {
    "applicants": (PROVINCE_OFFICER,),
    "written": (PROVINCE_OFFICER,),
    "interview": (CITY_OFFICER, PROVINCE_OFFICER),
}
IMPORT_SCHEMAS: Final = {
    "applicants": APPLICANTS,
    "written": WRITTEN_SCORES,
    "interview": INTERVIEW_SCORES,
}
# Officers of these roles work on a round; a school officer or a teacher has nothing there.
ROUND_ROLES: Final = frozenset({COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER, SYSTEM})


def works_on_rounds(actor: Actor) -> bool:
    return any(actor.holds(role) for role in ROUND_ROLES)


def may_import(actor: Actor, kind: str) -> bool:
    return any(actor.holds(role) for role in IMPORT_ROLES[kind])


# --- the round and its posts -------------------------------------------------------------------
@dataclass(frozen=True)
class OpenPost:
    code: str
    county: str
    subject: str
    school_level: str
    count: int
    min_education: str
    cert_required: bool


def get_round(svc: Services, round_id: int) -> Any:
    """The round's row, or None."""
    with reader(svc.db).connect() as conn:
        return conn.execute(
            select(table_of(RecruitmentRound)).where(RecruitmentRound.id == round_id)
        ).one_or_none()


def open_posts(svc: Services, round_id: int) -> list[OpenPost]:
    """Posts of approved plans only: a plan still under review is not open to anyone."""
    with Session(reader(svc.db)) as session:
        rows = session.execute(
            select(Post, OrgUnit.name.label("county"))
            .join(OrgUnit, OrgUnit.id == Post.county_id)
            .join(Case, Case.id == Post.plan_case_id)
            .where(Post.round_id == round_id, Case.state == "approved")
            .order_by(Post.code)
        ).all()
    return [
        OpenPost(
            code=p.code,
            county=county,
            subject=p.subject,
            school_level=p.school_level,
            count=p.count,
            min_education=p.min_education,
            cert_required=p.cert_required,
        )
        for p, county in rows
    ]


def post_schools(svc: Services, round_id: int) -> dict[str, list[tuple[str, int]]]:
    """Post code → (school, places) for the registration page: an applicant chooses a post
    knowing which schools its hires go to."""
    out: dict[str, list[tuple[str, int]]] = {}
    with reader(svc.db).connect() as conn:
        rows = conn.execute(
            select(Post.code, OrgUnit.name, PostSeat.seats)
            .join(PostSeat, PostSeat.post_id == Post.id)
            .join(OrgUnit, OrgUnit.id == PostSeat.school_id)
            .where(Post.round_id == round_id)
            .order_by(Post.code, OrgUnit.name)
        ).all()
    for code, school, seats in rows:
        out.setdefault(code, []).append((school, seats))
    return out


# --- online registration --------------------------------------------------------------------
def register_online(svc: Services, round_id: int, form: Mapping[str, Any]) -> int:
    """One registration without an account. What the form alone decides (the ID number's
    check digit, the window, the post, eligibility) is answered before the code is looked
    at; then the mobile is proved by its code, and that code serves this one attempt
    (``rec.register``), whatever its answer. ``form`` holds id_number, name, phone, code,
    education, cert_level and post_code."""
    try:
        id_number = validate_id_number(form["id_number"])
    except ValueError as exc:
        raise FormError("id_number", str(exc)) from None
    try:
        phone = validate_phone(form["phone"])
    except ValueError as exc:
        raise FormError("phone", str(exc)) from None
    row = {
        "row": 1,
        "id_number": id_number,
        "name": str(form["name"]).strip(),
        "phone": phone,
        "gender": gender_of(id_number),
        "birth_date": birth_date_of(id_number),
        "education": form["education"],
        "cert_level": form["cert_level"],
        "post_code": form["post_code"],
    }
    rec.check_form(svc.engine, round_id, row)
    code_id = check_code(svc.db, svc.clock, phone, form["code"])
    return rec.register(svc.engine, round_id, row, code_id=code_id)


# --- progress -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProgressLine:
    county: str
    post_code: str
    subject: str
    count: int
    registered: int
    qualified: int
    shortlisted: int
    hired: int


def progress(svc: Services, actor: Actor, round_id: int) -> list[ProgressLine]:
    """Per county and post: registered, past the qualification check, shortlisted, hired;
    only the posts of counties the actor's roles cover."""
    scopes = actor.scopes(SCOPE_ROLES)
    stages = {"qualified": PAST_QUALIFICATION, "shortlisted": PAST_SHORTLIST, "hired": HIRED}
    with reader(svc.db).connect() as conn:
        if (
            conn.execute(select(RecruitmentRound.id).where(RecruitmentRound.id == round_id)).first()
            is None
        ):
            raise NotFound("招聘轮次不存在")
        counted: list[Any] = [
            func.count(Applicant.case_id).label("registered"),
            *(
                func.count(Applicant.case_id).filter(Case.state.in_(states)).label(name)
                for name, states in stages.items()
            ),
        ]
        rows = conn.execute(
            select(
                OrgUnit.name,
                OrgUnit.path,
                Post.code,
                Post.subject,
                Post.count.label("post_count"),
                *counted,
            )
            .join(OrgUnit, OrgUnit.id == Post.county_id)
            .outerjoin(Applicant, and_(Applicant.post_id == Post.id, Applicant.voided_at.is_(None)))
            .outerjoin(Case, Case.id == Applicant.case_id)
            .where(Post.round_id == round_id)
            .group_by(OrgUnit.name, OrgUnit.path, Post.code, Post.subject, Post.count)
            .order_by(OrgUnit.name, Post.code)
        ).all()
    return [
        ProgressLine(
            county=r.name,
            post_code=r.code,
            subject=r.subject,
            count=r.post_count,
            registered=r.registered,
            qualified=r.qualified,
            shortlisted=r.shortlisted,
            hired=r.hired,
        )
        for r in rows
        if any(r.path.startswith(p) for p in scopes)
    ]


def state_counts(svc: Services, actor: Actor, round_id: int) -> dict[str, int]:
    """How many of the round's applicants the actor sees stand in each state."""
    scopes = actor.scopes(SCOPE_ROLES)
    if not scopes:
        return {}
    with reader(svc.db).connect() as conn:
        rows = conn.execute(
            select(Case.state, func.count())
            .join(Applicant, Applicant.case_id == Case.id)
            .where(
                Applicant.round_id == round_id,
                or_(*(Case.org_path.startswith(p) for p in scopes)),
            )
            .group_by(Case.state)
        ).all()
    return {state: int(n) for state, n in rows}


# --- imports --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportLine:
    row: int
    column: str
    value: str
    reason: str


@dataclass
class ImportResult:
    kind: str
    valid_only: bool
    imported: int = 0
    error_count: int = 0
    errors: list[ReportLine] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        """Errors and nothing written, because the officer did not ask for the valid rows."""
        return bool(self.errors) and not self.imported and not self.valid_only


def import_sheet(
    svc: Services,
    actor: Actor,
    round_id: int,
    kind: str,
    file: BinaryIO,
    filename: str,
    *,
    valid_only: bool = False,
) -> ImportResult:
    """Validate a whole file before writing anything: with any error nothing is imported
    unless ``valid_only``, and every error is reported by row and column."""
    if not may_import(actor, kind):
        raise PermissionDenied("报名与笔试成绩由省教育厅导入，面试成绩由市教育局人事处导入")
    schema = IMPORT_SCHEMAS[kind]
    data = file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise FormError("file", f"文件过大：不能超过{MAX_UPLOAD // (1024 * 1024)}MB")
    try:
        table = read_table(data, filename, schema=schema)
    except SheetError as exc:
        raise FormError("file", str(exc)) from None
    checked = validate(table, schema)
    errors = [ReportLine(e.row, e.column, e.value, e.reason) for e in checked.errors]
    imported = 0
    if kind == "applicants":
        labels = {c.name: c.label for c in schema.columns}
        if not errors or valid_only:
            report = rec.register_many(
                svc.engine, actor, round_id, checked.rows, valid_only=valid_only
            )
            imported = report.created
            # the value as the file had it, so the office sees which number was refused
            by_row = {int(r.get("row", 0)): r for r in checked.rows}
            errors += [
                ReportLine(row, labels.get(f, f), _cell(by_row.get(row, {}).get(f)), reason)
                for row, f, reason in report.errors
            ]
    else:
        problems = rec.score_problems(
            svc.engine, round_id, kind, [r["id_number"] for r in checked.rows]
        )
        label = schema.column("id_number").label
        errors += [
            ReportLine(int(r["row"]), label, r["id_number"], problems[r["id_number"]])
            for r in checked.rows
            if r["id_number"] in problems
        ]
        errors.sort(key=lambda e: e.row)
        if not errors or valid_only:
            imported = rec.record_scores(
                svc.engine,
                actor,
                round_id,
                kind,
                [
                    (
                        r["id_number"],
                        None if r["absent"] or r["score"] is None else float(r["score"]),
                    )
                    for r in checked.rows
                    if r["id_number"] not in problems
                ],
            )
    return ImportResult(
        kind=kind,
        valid_only=valid_only,
        imported=imported,
        error_count=max(checked.error_count, len(errors)),
        errors=errors[:MAX_REPORTED],
        ignored_columns=list(checked.ignored_columns),
    )


def _cell(value: Any) -> str:
    """A validated cell shown back in a report: dates as the file spells them, blank for none."""
    if value is None:
        return ""
    return value.isoformat() if isinstance(value, dt.date) else str(value)


# --- exports --------------------------------------------------------------------------------------
EXPORTS: Final[dict[str, tuple[str, tuple[str, ...], list[tuple[str, str]]]]] = {
    "shortlist": (
        "入围面试名单",
        PAST_SHORTLIST,
        [
            ("post_code", "岗位代码"),
            ("name", "姓名"),
            ("id_number", "身份证号"),
            ("phone", "手机号"),
            ("written_score", "笔试成绩"),
        ],
    ),
    "ranking": (
        "综合成绩排名",
        PAST_RANKING,
        [
            ("post_code", "岗位代码"),
            ("rank", "名次"),
            ("name", "姓名"),
            ("id_number", "身份证号"),
            ("written_score", "笔试成绩"),
            ("interview_score", "面试成绩"),
            ("composite", "综合成绩"),
        ],
    ),
    "publicity": (
        "拟聘用人员公示名单",
        ("publicity",),
        [
            ("post_code", "岗位代码"),
            ("name", "姓名"),
            ("id_number", "身份证号"),
            ("composite", "综合成绩"),
            ("rank", "名次"),
        ],
    ),
}


def export_sheet(svc: Services, actor: Actor, round_id: int, name: str) -> tuple[str, bytes]:
    """(title, .xlsx bytes) of a list, ID and mobile numbers masked, the actor's posts only."""
    title, states, columns = EXPORTS[name]
    scopes = actor.scopes(SCOPE_ROLES)
    if not scopes:
        raise PermissionDenied("无权导出")
    with reader(svc.db).connect() as conn:
        rows = (
            conn.execute(
                select(
                    Post.code.label("post_code"),
                    Applicant.name,
                    Applicant.id_number,
                    Applicant.phone,
                    Applicant.written_score,
                    Applicant.interview_score,
                    Applicant.composite,
                    Applicant.rank,
                )
                .join(Post, Post.id == Applicant.post_id)
                .join(Case, Case.id == Applicant.case_id)
                .where(
                    Applicant.round_id == round_id,
                    Case.state.in_(states),
                    or_(*(Case.org_path.startswith(p) for p in scopes)),
                )
                .order_by(Post.code, Applicant.rank, Applicant.written_score.desc().nulls_last())
            )
            .mappings()
            .all()
        )
    return title, write_xlsx(columns, [dict(r) for r in rows], title=title)


# --- post choice ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Chooser:
    case_id: int
    version: int
    name: str
    id_number: str  # masked
    rank: int | None
    composite: float | None


@dataclass
class ChoicePost:
    code: str
    county: str
    subject: str
    seats: list[tuple[int, str, int, int]]  # seat id, school, places, taken
    queue: list[Chooser] = field(default_factory=list)


def choice_queue(svc: Services, actor: Actor, round_id: int) -> list[ChoicePost]:
    """Posts with candidates waiting to choose a school, each queue in the order they
    choose (rank, pushed back for a skipped turn); the actor's counties only."""
    scopes = actor.scopes(SCOPE_ROLES)
    if not scopes:
        return []
    with reader(svc.db).connect() as conn:
        waiting = conn.execute(
            select(
                Applicant.post_id,
                Applicant.case_id,
                Case.version,
                Applicant.name,
                Applicant.id_number,
                Applicant.rank,
                Applicant.composite,
            )
            .join(Case, Case.id == Applicant.case_id)
            .where(
                Applicant.round_id == round_id,
                Case.state == "choosing",
                or_(*(Case.org_path.startswith(p) for p in scopes)),
            )
            .order_by(Applicant.post_id, Applicant.choice_turn, Applicant.case_id)
        ).all()
        post_ids = sorted({w.post_id for w in waiting})
        posts = conn.execute(
            select(Post.id, Post.code, Post.subject, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == Post.county_id)
            .where(Post.id.in_(post_ids))
            .order_by(Post.code)
        ).all()
        seats = conn.execute(
            select(PostSeat.post_id, PostSeat.id, OrgUnit.name, PostSeat.seats, PostSeat.taken)
            .join(OrgUnit, OrgUnit.id == PostSeat.school_id)
            .where(PostSeat.post_id.in_(post_ids))
            .order_by(OrgUnit.name)
        ).all()
    out = {p.id: ChoicePost(p.code, p.name, p.subject, []) for p in posts}
    for s in seats:
        out[s.post_id].seats.append((s.id, s.name, s.seats, s.taken))
    for w in waiting:
        out[w.post_id].queue.append(
            Chooser(w.case_id, w.version, w.name, mask_id_number(w.id_number), w.rank, w.composite)
        )
    return list(out.values())
