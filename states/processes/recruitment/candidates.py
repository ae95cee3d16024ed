"""A candidate's own view of their registrations, and their registration as a reader of the
case sees it.

Candidates have no account. They look up where they stand with their ID number and the
mobile they registered with, proved by an SMS code sent for this purpose (``STATUS``: a
registration code does not open a status lookup, nor the other way round). The code is
sent to whatever mobile is typed, registered or not, and checked before anything about a
registration is read, so until the code is proved the answer is the same whether the ID
number is registered, registered with another mobile, or not at all; once proved, the
holder of the mobile learns only about the registrations made with that mobile. Like a
registration's code, the code answers once.

What each registration shows (the step in plain words, scores, what comes next and by when)
goes through the process's one visibility declaration (``REGISTRATION_VISIBILITY``) as the
applicant's view, the same declaration the case page's record applies to officers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, select

from states.clock import Clock, local_date
from states.engine.visibility import APPLICANT_VIEW, Viewer, shown_payload, shown_record
from states.errors import FormError, NotFound
from states.identity import mask_id_number, validate_id_number, validate_phone
from states.org import EDUCATION_LABELS, GENDERS, SCHOOL_LEVELS
from states.process.rules import full_years
from states.processes.recruitment.spec import APPLICANT_SPEC
from states.processes.recruitment.tables import Applicant, Post, PostSeat, RecruitmentRound
from states.store.models import AuditEvent, Case, OrgUnit, Task, table_of
from states.verification import LIVE_CODE, TRIES, check_code, use_code

applicants_t, posts_t, seats_t = table_of(Applicant), table_of(Post), table_of(PostSeat)
rounds_t, cases_t, units_t = table_of(RecruitmentRound), table_of(Case), table_of(OrgUnit)
tasks_t, audit_t = table_of(Task), table_of(AuditEvent)

STATUS: Final = "recruitment_status"
NO_MATCH: Final = (
    "没有找到该身份证号以该手机号报名的记录。请核对身份证号，并使用报名时填写的手机号查询；"
    "如有疑问，请联系招聘办公室（电话见招聘公告）"
)
# Said instead of "a code was sent" when the deployment has no SMS channel.
NO_SMS: Final = "本系统暂未开通短信验证码，无法网上查询，请联系招聘办公室（电话见招聘公告）"
CERT_LABELS: Final = {
    "kindergarten": "幼儿园",
    "primary": "小学",
    "junior": "初级中学",
    "senior": "高级中学",
    "vocational": "中职",
}
# The record's rows in the order a reader reads them, with their labels.
RECORD_LABELS: Final = (
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("gender", "性别"),
    ("age", "年龄"),
    ("education", "学历"),
    ("cert_level", "教师资格证"),
    ("post", "报考岗位"),
    ("written_score", "笔试成绩"),
    ("interview_score", "面试成绩"),
    ("composite", "综合成绩"),
    ("rank", "岗位排名"),
)
# A step's words for the candidate: where they stand. The states not listed read as the
# process names them.
STEP_WORDS: Final = {
    "registered": "报名待审核",
    "qualified": "资格审查通过",
    "disqualified": "资格审查未通过",
    "not_shortlisted": "未入围面试",
    "shortlisted": "入围面试",
    "physical": "综合成绩与排名：进入体检",
    "reserve": "综合成绩与排名：列为候补",
    "background": "体检合格，待考察",
    "publicity": "拟聘用公示",
    "objection_review": "拟聘用公示（收到异议，暂停公示，正在核查）",
    "choosing": "公示期满，待选岗",
    "probation": "已聘用，试用期",
    "confirmed": "正式录用（已转正）",
    "withdrew": "已放弃",
    "not_hired": "未录用",
    "voided": "报名已注销",
}
ENDED_WITH_REASON: Final = frozenset(
    {"disqualified", "failed_physical", "failed_background", "not_hired", "withdrew", "voided"}
)


def _score(value: float | None) -> str:
    return f"{value:g}" if value is not None else "缺考"


def record_values(row: Any) -> dict[str, str]:
    """A registration (a row with the applicant's columns, ``state``, and the post's
    ``code``, ``county``, ``subject`` and ``school_level``) as the record shows it, for any
    reader; the visibility declaration then cuts it to what one reader may see. A score
    appears once it is recorded (缺考 for an absence), the ranking once it is drawn."""
    level = SCHOOL_LEVELS.get(row.school_level, row.school_level)
    registered = local_date(row.registered_at)
    out = {
        "name": row.name,
        "id_number": mask_id_number(row.id_number),
        "gender": GENDERS.get(row.gender, row.gender),
        "age": f"{full_years(row.birth_date, registered)}周岁（报名时）",
        "education": EDUCATION_LABELS.get(row.education, row.education),
        "cert_level": f"{CERT_LABELS[row.cert_level]}教师资格证"
        if row.cert_level in CERT_LABELS
        else "无",
        "post": f"{row.code}（{row.county}，{level}{row.subject}）",
    }
    if row.written_score is not None or row.state in _AFTER_WRITTEN:
        out["written_score"] = _score(row.written_score)
    if row.interview_score is not None or row.state in _AFTER_INTERVIEW:
        out["interview_score"] = _score(row.interview_score)
    if row.composite is not None:
        out["composite"] = f"{row.composite:g}"
    if row.rank is not None:
        out["rank"] = f"第{row.rank}名"
    return out


# The states a candidate can only be in once the score of that kind was recorded or their
# absence marked: there a missing score reads 缺考. (A withdrawal leaves no trace of how far
# they got, so it shows only the scores recorded.)
_AFTER_WRITTEN = frozenset(
    {"examined", "shortlisted", "not_shortlisted", "interviewed", "physical", "reserve",
     "background", "publicity", "objection_review", "choosing", "probation", "confirmed",
     "failed_physical", "failed_background", "not_hired"}
)  # fmt: skip
_AFTER_INTERVIEW = _AFTER_WRITTEN - {"examined", "shortlisted", "not_shortlisted"}


def registration_rows() -> Any:
    """The registrations with their case, post, county and round: what both the record and
    the status read."""
    county = units_t.alias("county")
    return (
        select(
            applicants_t,
            cases_t.c.state,
            cases_t.c.data,
            posts_t.c.code,
            posts_t.c.subject,
            posts_t.c.school_level,
            county.c.name.label("county"),
            rounds_t.c.name.label("round_name"),
            rounds_t.c.year.label("round_year"),
            rounds_t.c.shortlist_ratio,
            rounds_t.c.written_weight,
            rounds_t.c.replacement_deadline,
        )
        .join(cases_t, cases_t.c.id == applicants_t.c.case_id)
        .join(posts_t, posts_t.c.id == applicants_t.c.post_id)
        .join(county, county.c.id == posts_t.c.county_id)
        .join(rounds_t, rounds_t.c.id == applicants_t.c.round_id)
    )


def registration(conn: Connection, case_id: int) -> Any:
    """One applicant's registration row (``registration_rows``), or None."""
    return conn.execute(registration_rows().where(applicants_t.c.case_id == case_id)).one_or_none()


def record(row: Any, viewer: Viewer) -> list[tuple[str, str]]:
    """The registration's rows (label, value) ``viewer`` may read, in reading order."""
    shown = shown_record(APPLICANT_SPEC.visibility, record_values(row), viewer)
    return [(label, shown[key]) for key, label in RECORD_LABELS if key in shown]


# --- the candidate's status -------------------------------------------------------------------
@dataclass(frozen=True)
class Standing:
    """One registration as its candidate reads it."""

    case_id: int
    round_id: int
    round_name: str
    post: str
    state: str
    step: str  # where they stand, in plain words ("笔试成绩 88.5")
    rows: tuple[tuple[str, str], ...]  # the registration as the applicant may read it
    reason: str | None  # why it ended, where it ended with one
    next: str  # what happens next
    due_on: dt.date | None  # by when the step they wait on is due, where one is


def _step(row: Any) -> str:
    state = row.state
    if state == "examined":
        return "笔试缺考" if row.written_score is None else f"笔试成绩 {row.written_score:g} 分"
    if state == "interviewed":
        if row.interview_score is None:
            return "面试缺考"
        return f"面试成绩 {row.interview_score:g} 分"
    if state in ("physical", "reserve") and row.composite is not None:
        tail = "进入体检" if state == "physical" else "列为候补"
        return f"综合成绩 {row.composite:g} 分，岗位第{row.rank}名，{tail}"
    return STEP_WORDS.get(state) or APPLICANT_SPEC.state_label(state)


def _next(row: Any, due: dt.date | None, school: str | None) -> str:
    """What happens next for a registration in its state, with the dates known."""
    by = f"，预计{due.isoformat()}前办结" if due else ""
    written = round(row.written_weight * 100)
    state = row.state
    if state == "registered":
        return f"报考岗位所在县（区）教育局人事股进行资格审查（年龄、学历、教师资格）{by}。"
    if state == "qualified":
        return "参加全省统一笔试；笔试成绩由省教育厅导入后，可在此查询。"
    if state == "examined":
        if row.written_score is None:
            return "笔试缺考的考生不能入围面试。"
        return (
            f"市教育局按笔试成绩确定入围面试人选（每个招聘名额1:{row.shortlist_ratio}，"
            "末位同分者一并入围）。"
        )
    if state == "shortlisted":
        return "参加面试（时间、地点另行通知）；面试成绩导入后，可在此查询。"
    if state == "interviewed":
        return f"按笔试{written}%、面试{100 - written}%计算综合成绩并在本岗位排名。"
    if state == "physical":
        return f"县（区）教育局人事股通知体检{by}。"
    if state == "reserve":
        deadline = row.replacement_deadline
        until = f"（递补截止日期{deadline.isoformat()}）" if deadline else ""
        return f"排名在前的考生放弃或体检、考察不合格时，按名次依次递补进入体检{until}。"
    if state == "background":
        return f"县（区）教育局人事股进行考察（政审）{by}。"
    if state == "publicity":
        end = f"，公示至{due.isoformat()}" if due else ""
        return f"拟聘用人员公示7个工作日{end}；期满后按排名顺序选择学校。"
    if state == "objection_review":
        return f"县（区）教育局人事股核查异议{by}；异议不成立的继续公示。"
    if state == "choosing":
        turn = f"（本岗位第{row.choice_turn}位）" if row.choice_turn else ""
        return f"按排名顺序选择学校{turn}，请等候县（区）教育局人事股通知{by}。"
    if state == "probation":
        hired = (row.data or {}).get("hired_on")
        at = f"（{school}）" if school else ""
        if hired:
            start = dt.date.fromisoformat(str(hired))
            try:
                over = start.replace(year=start.year + 1)
            except ValueError:  # hired on 29 February
                over = dt.date(start.year + 1, 3, 1)
            return f"{start.isoformat()}入职{at}，试用期12个月，{over.isoformat()}起可转正定级。"
        return f"试用期12个月，期满后转正定级{at}。"
    if state == "confirmed":
        return "已正式录用。"
    return "本次招聘流程已结束。"


def _reasons(conn: Connection, rows: Sequence[Any]) -> dict[int, str]:
    """Why each ended registration ended: the reason given on the move into its end, as
    the applicant may read it (their notice said the same)."""
    ended = {int(r.case_id): r.state for r in rows if r.state in ENDED_WITH_REASON}
    out: dict[int, str] = {}
    if not ended:
        return out
    found = conn.execute(
        select(audit_t.c.case_id, audit_t.c.to_state, audit_t.c.payload)
        .where(audit_t.c.case_id.in_(list(ended)))
        .order_by(audit_t.c.case_id, audit_t.c.seq)
    )
    for case_id, to_state, payload in found:
        if to_state != ended[case_id]:
            continue
        raw = json.loads(payload) if isinstance(payload, str) else payload
        said = shown_payload(APPLICANT_SPEC.visibility, raw or {}, APPLICANT_VIEW)
        reason = said.get("reason")
        if isinstance(reason, str) and reason.strip():
            out[case_id] = reason.strip()
    return out


def standings(conn: Connection, id_number: str, phone: str) -> list[Standing]:
    """Every registration made with ``id_number`` and ``phone``, newest round first."""
    rows = conn.execute(
        registration_rows()
        .where(applicants_t.c.id_number == id_number, applicants_t.c.phone == phone)
        .order_by(rounds_t.c.year.desc(), applicants_t.c.registered_at.desc())
    ).all()
    if not rows:
        return []
    ids = [int(r.case_id) for r in rows]
    due: dict[int, dt.date] = {
        int(case_id): day
        for case_id, day in conn.execute(
            select(tasks_t.c.case_id, func.min(tasks_t.c.due_on))
            .where(tasks_t.c.case_id.in_(ids), tasks_t.c.status.in_(("open", "waiting")))
            .group_by(tasks_t.c.case_id)
        )
        if day is not None
    }
    seat_ids = [int(r.seat_id) for r in rows if r.seat_id is not None]
    schools = {
        int(seat): name
        for seat, name in conn.execute(
            select(seats_t.c.id, units_t.c.name)
            .join(units_t, units_t.c.id == seats_t.c.school_id)
            .where(seats_t.c.id.in_(seat_ids))
        )
    }
    reasons = _reasons(conn, rows)
    out: list[Standing] = []
    for r in rows:
        case_id = int(r.case_id)
        when = due.get(case_id)
        out.append(
            Standing(
                case_id=case_id,
                round_id=int(r.round_id),
                round_name=r.round_name,
                post=record_values(r)["post"],
                state=r.state,
                step=_step(r),
                rows=tuple(record(r, APPLICANT_VIEW)),
                reason=reasons.get(case_id),
                next=_next(r, when, schools.get(int(r.seat_id)) if r.seat_id else None),
                due_on=when,
            )
        )
    return out


def checked_id_number(value: str) -> str:
    """The ID number as typed, normalised, or why not (beside the ID number)."""
    if not value.strip():
        raise FormError("id_number", "请填写身份证号")
    try:
        return validate_id_number(value)
    except ValueError as exc:
        raise FormError("id_number", str(exc)) from None


def checked_phone(value: str) -> str:
    """The mobile as typed, normalised, or why not (beside the mobile)."""
    if not value.strip():
        raise FormError("phone", "请填写手机号码")
    try:
        return validate_phone(value)
    except ValueError as exc:
        raise FormError("phone", str(exc)) from None


def _tries_left(db: Engine, clock: Clock, phone: str) -> int:
    with db.connect() as conn:
        row = conn.execute(
            LIVE_CODE, {"phone": phone, "purpose": STATUS, "now": clock.now()}
        ).one_or_none()
    return max(TRIES - int(row.attempts), 0) if row is not None else 0


def lookup(db: Engine, clock: Clock, id_number: str, phone: str, code: str) -> list[Standing]:
    """The registrations made with ``id_number`` from ``phone``, once ``code`` proves the
    phone; the code is used up by the answer, whatever it is. ``NotFound`` (after the code)
    when there are none: the holder of the phone learns that this ID number was not
    registered with their phone, and nothing about any other phone."""
    number, mobile = checked_id_number(id_number), checked_phone(phone)
    code = code.strip()
    if not code:
        raise FormError("code", "请填写短信验证码")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        raise FormError("code", "请填写短信中的6位数字验证码")
    try:
        code_id = check_code(db, clock, mobile, code, purpose=STATUS)
    except FormError as exc:
        if exc.reason == "验证码错误":
            left = _tries_left(db, clock, mobile)
            again = f"，还可再试{left}次" if left else "，该验证码已失效，请重新获取"
            raise FormError("code", f"验证码错误{again}") from None
        raise
    with db.begin() as conn:
        use_code(conn, code_id, clock.now())
        found = standings(conn, number, mobile)
    if not found:
        raise NotFound(NO_MATCH)
    return found


__all__ = [
    "NO_MATCH",
    "NO_SMS",
    "RECORD_LABELS",
    "STATUS",
    "Standing",
    "checked_id_number",
    "checked_phone",
    "lookup",
    "record",
    "record_values",
    "registration",
    "standings",
]
