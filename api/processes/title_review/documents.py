"""What title review prints: the declaration form (申报表) of one case, the committee's
result list (评审结果名单) of a year, and the appointment notice (认定通知) of an appointed
case. Each is built here once as a ``typeset.Document`` and set as PDF or .xlsx by
``typeset``; the JSON API and the pages serve the same bytes.

Who sees what is never decided here. A case's documents start from ``case_file`` — the one
read that answers "not found" outside the reader's scope and cuts the case's data and trail
to what the reader may see (``states.engine.visibility``) — and the teacher's record is cut
by the same declaration (``SPEC.visibility``: ``TEACHER_RECORD`` and ``DECLARATION_FORM``):
a committee member's 申报表 shows the ID number masked, the teacher's own shows it whole. The
result list is for the officers who manage the committee's unit (a city's for its 高级
committee, the province's for all of them); elsewhere the committee is "not found".
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, case, distinct, false, func, or_, select, true

from api import webkit
from api.deps import Services
from api.processes.title_review import record
from api.typeset import (
    Block,
    Document,
    fields,
    heading,
    pairs,
    paragraph,
    right,
    signatures,
    table,
)
from states.blocks.panel import VOTE_CHOICES
from states.clock import local_date
from states.engine import OPINIONS
from states.engine.visibility import CaseFile, case_file, shown_record
from states.errors import Conflict, FormError, NotFound
from states.org import (
    GENDERS,
    OFFICER_OF_TIER,
    SCHOOL_LEVELS,
    SYSTEM,
    TITLE_LABELS,
    TITLES,
    Actor,
)
from states.process.rules import full_years
from states.processes.title_review.machine import PROCESS
from states.processes.title_review.rules import cn_date
from states.registry import history
from states.registry.roster_sheet import shown as roster_shown
from states.registry.scope import managed_paths, manages
from states.store.db import reader
from states.store.models import AuditEvent, Case, OrgUnit, Person, Task, Teacher, table_of

cases_t, audit_t, tasks_t = table_of(Case), table_of(AuditEvent), table_of(Task)
units_t, people_t, teachers_t = table_of(OrgUnit), table_of(Person), table_of(Teacher)

FORM_TITLE: Final = "中小学教师职称评审申报表"
PLEDGE: Final = (
    "本人承诺：以上所填信息及所附材料真实、准确、完整，如有弄虚作假，本人愿承担取消申报资格、"
    "撤销评审结果等相应责任。"
)
# The state a committee sits in: the trail row that leaves it carries the tally, and leads
# on to the result's publicity when the case passed.
LEFT_COMMITTEE: Final = "committee"
PASSED, FAILED = "通过", "未通过"
COMMITTEE_ROLES: Final = tuple(OFFICER_OF_TIER.values())


# --- one case -----------------------------------------------------------------------------------
def _case(conn: Connection, svc: Services, actor: Actor, case_id: int) -> CaseFile:
    """The case as the reader may read it, trail included; 404 outside their scope and for a
    case of another process, exactly like every case read."""
    found = case_file(conn, svc.engine.processes, actor, case_id, with_trail=True)
    if found is None or found.row["process"] != PROCESS:
        raise NotFound("事项不存在")
    return found


_IDENTITY = select(
    people_t.c.id_number,
    teachers_t.c.gender,
    teachers_t.c.birth_date,
    teachers_t.c.subject,
    teachers_t.c.school_level,
    teachers_t.c.joined_school_on,
    teachers_t.c.cert_level,
    teachers_t.c.cert_no,
).join(teachers_t, teachers_t.c.person_id == people_t.c.id)


def _identity(conn: Connection, case: CaseFile) -> dict[str, str]:
    """Who the teacher is, as the declaration's visibility lets this reader read it."""
    person_id = case.row.get("subject_id") or case.row.get("applicant_id")
    if person_id is None:
        return {}
    row = conn.execute(_IDENTITY.where(people_t.c.id == person_id)).one_or_none()
    if row is None:
        return {}
    cert = roster_shown({"cert_level": row.cert_level}).get("cert_level") or "无"
    values: dict[str, Any] = {
        "gender": GENDERS.get(row.gender, row.gender),
        "birth_month": f"{row.birth_date.year}年{row.birth_date.month}月",
        "id_number": row.id_number or "",
        "subject": row.subject,
        "school_level": SCHOOL_LEVELS.get(row.school_level, row.school_level),
        "joined_school_on": row.joined_school_on.isoformat(),
        "cert_level": cert,
        "cert_no": row.cert_no or "",
    }
    shown = shown_record(case.spec.visibility, values, case.viewer)
    return {k: str(v) for k, v in shown.items()}


def _as_declared(
    conn: Connection, case: CaseFile, rows: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The record's title as it stood when the teacher declared. Once this case appointed
    them, the record holds the new title (and a date after the declaration); a 申报表 printed
    for the archive states the title declared from, read back from the record's history
    entry that names this case."""
    person_id = case.row.get("subject_id") or case.row.get("applicant_id")
    if person_id is None:
        return list(rows)
    changed = next(
        (
            e.changes
            for e in history.entries_of(conn, history.TEACHER, int(person_id))
            if e.case_id == case.row["id"] and "title" in e.changes
        ),
        None,
    )
    if changed is None:
        return list(rows)
    title = TITLE_LABELS.get(str(changed["title"][0]), str(changed["title"][0]))
    before = changed.get("title_date", [None])[0]
    held = "未登记"
    if before:
        since = dt.date.fromisoformat(str(before))
        as_of = local_date(case.row["opened_at"])
        held = f"{since.isoformat()}（任{title}满{full_years(since, as_of)}年）"
    shown = {record.LABELS["title"]: title, record.LABELS["title_date"]: held}
    return [(label, shown.get(label, value)) for label, value in rows]


def _tally(t: Mapping[str, Any]) -> str:
    return (
        f"同意{t.get('yes', 0)}票、不同意{t.get('no', 0)}票、弃权{t.get('abstain', 0)}票"
        f"（评委{t.get('drawn', 0)}人）"
    )


def _opinions(case: CaseFile) -> list[list[str]]:
    """Each step's decision from the trail as the reader may see it: the step, what was
    decided and why, who signed it, and the day. A vote is the committee's, shown by its
    tally when the sitting closes; who cast which vote never appears here."""
    spec, out = case.spec, []
    for e in case.trail:
        event, p = str(e["event"]), e["payload"]
        if event in ("create", "vote"):
            continue
        if event in spec.events:
            source = e["from_state"] or ""
            step = "个人申报" if source == "draft" else spec.state_label(source)
            words = [spec.events[event].label]
        elif event == "countersign":
            step = spec.state_label(e["to_state"])
            words = [f"加签意见：{OPINIONS.get(str(p.get('opinion')), '')}"]
        else:
            continue
        if isinstance(p.get("tally"), Mapping):
            words.append(_tally(p["tally"]))
        if p.get("doc_number"):
            day = dt.date.fromisoformat(str(p["doc_date"]))
            words.append(f"{p['doc_number']}（发文日期{cn_date(day)}）")
        if p.get("choice") in VOTE_CHOICES:  # never on the trail while sealed; kept if unsealed
            words.append(VOTE_CHOICES[str(p["choice"])])
        for key in ("reason", "comment"):
            if p.get(key):
                words.append(str(p[key]))
        said = words[0] + ("：" + "；".join(words[1:]) if len(words) > 1 else "")
        out.append([step, said, str(e["actor_label"]), local_date(e["at"]).isoformat()])
    return out


def declaration(svc: Services, actor: Actor, case_id: int) -> Document:
    """The 申报表 of one case, as ``actor`` may read it."""
    with reader(svc.db).connect() as conn:
        case = _case(conn, svc, actor, case_id)
        identity = _identity(conn, case)
        panel = record.case_record(conn, actor, case.row)
        as_declared = _as_declared(conn, case, panel.rows if panel is not None else ())
    name = str(case.row["applicant_name"] or "")
    spec, data = case.spec, case.data
    ledger = record.LABELS["rural_ledger"]
    basics: list[tuple[str, str]] = [("姓名", name)]
    for key, label in (
        ("gender", "性别"),
        ("birth_month", "出生年月"),
        ("id_number", "身份证号"),
        ("school_level", "任教学段"),
        ("subject", "任教学科"),
    ):
        if key in identity:
            basics.append((label, identity[key]))
    if panel is not None:
        basics += [(label, value) for label, value in as_declared if label != ledger]
    for key, label in (("joined_school_on", "来校时间"), ("cert_level", "教师资格")):
        if key in identity:
            basics.append((label, identity[key]))
    if identity.get("cert_no"):
        basics.append(("资格证书编号", identity["cert_no"]))
    declared = [
        (f.label, webkit.show(f, data[f.name]))
        for f in spec.start_form.fields
        if data.get(f.name) not in (None, "")
    ]
    blocks: list[Block] = [heading("一、基本情况"), fields(pairs(basics))]
    if panel is not None and panel.note:
        blocks.append(paragraph(panel.note, indent=False))
    blocks += [heading("二、申报情况"), fields(pairs(declared))]
    opinions = _opinions(case)
    blocks += [
        heading("三、审核意见"),
        table([("环节", 2.6), ("意见", 0), ("经办人", 3.8), ("日期", 2.2)], opinions)
        if opinions
        else paragraph("尚无审核意见", indent=False),
    ]
    if data.get("doc_number"):
        day = dt.date.fromisoformat(str(data["doc_date"]))
        title = TITLE_LABELS.get(str(data.get("target_title")), "")
        blocks += [
            heading("四、发文认定"),
            fields(
                [[("认定职称", title), ("发文日期", cn_date(day))], [("文号", data["doc_number"])]]
            ),
        ]
    blocks += [
        paragraph(PLEDGE),
        signatures(
            "申报人（签名）：",
            "学校（盖章）　负责人（签名）：",
            "主管部门（盖章）　经办人（签名）：",
        ),
    ]
    state = spec.state_label(case.row["state"])
    return Document(
        title=FORM_TITLE,
        filename=f"职称评审申报表-{name}-{case_id}",
        subtitle=f"{case.row['year']}年度　申报编号：{case_id}　当前环节：{state}",
        footer=f"{name}　{FORM_TITLE}　打印于{local_date(svc.now()).isoformat()}",
        blocks=blocks,
    )


def appointment_notice(svc: Services, actor: Actor, case_id: int) -> Document:
    """The 认定通知 of an appointed case: the teacher keeps it, the school files it."""
    with reader(svc.db).connect() as conn:
        case = _case(conn, svc, actor, case_id)
        identity = _identity(conn, case)
        organiser, tier = _organiser(conn, case_id)
    data = case.data
    if not data.get("doc_number") or case.row["state"] != "appointed":
        raise Conflict("本事项尚未发文认定，没有认定通知")
    name = str(case.row["applicant_name"] or "")
    title = TITLE_LABELS.get(str(data.get("target_title")), "")
    day = dt.date.fromisoformat(str(data["doc_date"]))
    rows: list[tuple[str, str]] = [("姓名", name)]
    if "id_number" in identity:
        rows.append(("身份证号", identity["id_number"]))
    rows += [
        ("工作单位", str(case.row["unit_name"])),
        ("评审学科", str(data.get("subject") or "")),
        ("认定职称", title),
        ("取得资格时间", cn_date(day)),
        ("文号", str(data["doc_number"])),
        ("发文日期", cn_date(day)),
    ]
    blocks: list[Block] = [
        paragraph(f"{name}同志：", indent=False),
        paragraph(
            f"经{organiser}{case.row['year']}年度中小学教师职称评审委员会评审通过，并经公示无异议，"
            f"您已取得{title}任职资格，文号：{data['doc_number']}，发文日期：{cn_date(day)}。"
            f"任职资格取得时间自{cn_date(day)}起计算。"
        ),
        paragraph("特此通知。"),
        fields(pairs(rows)),
        right(_bureau(organiser, tier), cn_date(day)),
    ]
    return Document(
        title="中小学教师职称评审认定通知",
        filename=f"职称认定通知-{name}-{case_id}",
        subtitle=f"申报编号：{case_id}",
        footer=f"{name}　认定通知",
        blocks=blocks,
    )


def _organiser(conn: Connection, case_id: int) -> tuple[str, str]:
    """The unit that held the case's committee and appoints, and its tier."""
    found = conn.execute(
        select(units_t.c.name, units_t.c.tier)
        .join(tasks_t, tasks_t.c.org_unit_id == units_t.c.id)
        .where(
            tasks_t.c.case_id == case_id,
            tasks_t.c.state == "appointment",
            tasks_t.c.kind == "act",
            tasks_t.c.role.in_(COMMITTEE_ROLES),
        )
        .order_by(tasks_t.c.id)
        .limit(1)
    ).one_or_none()
    return (str(found.name), str(found.tier)) if found is not None else ("", "")


def _bureau(name: str, tier: str) -> str:
    """The appointing body as a notice is signed: a unit's education bureau (东川市 →
    东川市教育局), the province's department, or a pilot school itself."""
    if tier == "school" or name.endswith(("局", "厅")):
        return name
    return name + ("教育厅" if tier == "province" else "教育局")


# --- a committee's results ----------------------------------------------------------------------
@dataclass(frozen=True)
class Committee:
    """A unit that held title-review committees in a year (a county for 二级 and 一级, a
    city for 高级, the province for 正高级, a pilot school for its own), with its counts."""

    unit_id: int
    name: str
    decided: int
    passed: int


@dataclass(frozen=True)
class ResultRow:
    case_id: int
    applicant: str
    school: str
    title: str  # the title applied for, as a label
    subject: str
    yes: int
    no: int
    abstain: int
    drawn: int
    passed: bool
    note: str  # why a case passed by its votes did not pass (the ethics veto)

    @property
    def result(self) -> str:
        return PASSED if self.passed else FAILED


@dataclass(frozen=True)
class Results:
    year: int
    committee: Committee
    rows: list[ResultRow]


def _year(year: int) -> int:
    if not 2000 <= year <= 2100:
        raise FormError("year", "年度应在2000至2100之间")
    return year


# The unit whose officers held each case's committee (the organiser's task at the sitting).
_SAT_AT = (
    select(tasks_t.c.case_id, tasks_t.c.org_unit_id.label("unit_id"))
    .where(
        tasks_t.c.state == LEFT_COMMITTEE,
        tasks_t.c.kind == "act",
        tasks_t.c.role.in_(COMMITTEE_ROLES),
    )
    .distinct()
    .subquery("sat_at")
)
# The trail row where the committee's sitting ended: the tally is on it.
_DECIDED = (
    cases_t.c.process == PROCESS,
    audit_t.c.from_state == LEFT_COMMITTEE,
    audit_t.c.to_state != LEFT_COMMITTEE,
)


def _in_scope(actor: Actor) -> Any:
    if actor.holds(SYSTEM):
        return true()
    paths = managed_paths(actor)
    return or_(*(units_t.c.path.startswith(p) for p in paths)) if paths else false()


def committees(svc: Services, actor: Actor, year: int) -> list[Committee]:
    """The committees of ``year`` whose unit the actor manages, with how many cases each
    decided and passed; empty for anyone who manages none."""
    _year(year)
    passed = func.sum(case((audit_t.c.to_state != "rejected", 1), else_=0))
    query = (
        select(
            units_t.c.id,
            units_t.c.name,
            func.count(distinct(cases_t.c.id)).label("decided"),
            passed.label("passed"),
        )
        .select_from(audit_t)
        .join(cases_t, cases_t.c.id == audit_t.c.case_id)
        .join(_SAT_AT, _SAT_AT.c.case_id == cases_t.c.id)
        .join(units_t, units_t.c.id == _SAT_AT.c.unit_id)
        .where(*_DECIDED, cases_t.c.year == year, _in_scope(actor))
        .group_by(units_t.c.id, units_t.c.name, units_t.c.path)
        .order_by(units_t.c.path)
    )
    with reader(svc.db).connect() as conn:
        rows = conn.execute(query).all()
    return [Committee(int(r.id), r.name, int(r.decided), int(r.passed or 0)) for r in rows]


def results(svc: Services, actor: Actor, year: int, unit_id: int) -> Results:
    """Every case the committee at ``unit_id`` decided in ``year``: the applicant, school,
    title, tally and result, 正高级 first, then by school and name."""
    _year(year)
    with reader(svc.db).connect() as conn:
        unit = conn.execute(
            select(units_t.c.id, units_t.c.name, units_t.c.path).where(units_t.c.id == unit_id)
        ).one_or_none()
        if unit is None or not (actor.holds(SYSTEM) or manages(actor, unit.path)):
            raise NotFound("评审委员会不存在或不在您的管理范围内")
        school = units_t.alias("school")
        found = conn.execute(
            select(
                cases_t.c.id,
                cases_t.c.data,
                people_t.c.name.label("applicant"),
                school.c.name.label("school"),
                audit_t.c.event,
                audit_t.c.to_state,
                audit_t.c.payload,
            )
            .select_from(audit_t)
            .join(cases_t, cases_t.c.id == audit_t.c.case_id)
            .join(_SAT_AT, _SAT_AT.c.case_id == cases_t.c.id)
            .join(school, school.c.id == cases_t.c.org_unit_id)
            .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
            .where(*_DECIDED, cases_t.c.year == year, _SAT_AT.c.unit_id == unit_id)
        ).all()
    rows = [_result_row(r) for r in found]
    rank = {TITLE_LABELS[t]: i for i, t in enumerate(reversed(TITLES))}
    rows.sort(key=lambda r: (rank.get(r.title, 9), r.school, r.applicant, r.case_id))
    committee = Committee(int(unit.id), unit.name, len(rows), sum(1 for r in rows if r.passed))
    return Results(year, committee, rows)


def _result_row(r: Any) -> ResultRow:
    data = r.data if isinstance(r.data, Mapping) else json.loads(r.data or "{}")
    payload = r.payload if isinstance(r.payload, Mapping) else json.loads(r.payload or "{}")
    found = payload.get("tally")
    t: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    title = str(data.get("target_title") or "")
    passed = r.to_state != "rejected"
    note = ""
    if r.event != "close_sitting":  # the ethics veto at the sitting's close
        note = str(payload.get("reason") or "")
    return ResultRow(
        case_id=int(r.id),
        applicant=str(r.applicant or ""),
        school=str(r.school),
        title=TITLE_LABELS.get(title, title),
        subject=str(data.get("subject") or ""),
        yes=int(t.get("yes", 0)),
        no=int(t.get("no", 0)),
        abstain=int(t.get("abstain", 0)),
        drawn=int(t.get("drawn", 0)),
        passed=passed,
        note=note,
    )


@dataclass(frozen=True)
class Awaiting:
    """A case whose result's publicity ran out, waiting for the appointing document."""

    case_id: int
    version: int
    applicant: str
    school: str
    title: str
    subject: str


AWAITING_LIMIT: Final = 500  # one form's worth (the most cases a page's batch may name)


def awaiting(svc: Services, actor: Actor, year: int) -> list[Awaiting]:
    """The cases of ``year`` waiting at 发文认定 whose appointing unit the actor manages, in
    the order of the result list: what one document may appoint together."""
    _year(year)
    at = units_t.alias("at")
    school = units_t.alias("school")
    query = (
        select(
            cases_t.c.id,
            cases_t.c.version,
            cases_t.c.data,
            people_t.c.name,
            school.c.name.label("school"),
        )
        .join(tasks_t, tasks_t.c.case_id == cases_t.c.id)
        .join(at, at.c.id == tasks_t.c.org_unit_id)
        .join(school, school.c.id == cases_t.c.org_unit_id)
        .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
        .where(
            cases_t.c.process == PROCESS,
            cases_t.c.year == year,
            cases_t.c.state == "appointment",
            tasks_t.c.state == "appointment",
            tasks_t.c.kind == "act",
            tasks_t.c.status == "open",
            tasks_t.c.role.in_(COMMITTEE_ROLES),
            true()
            if actor.holds(SYSTEM)
            else or_(false(), *(at.c.path.startswith(p) for p in managed_paths(actor))),
        )
        .limit(AWAITING_LIMIT)
    )
    with reader(svc.db).connect() as conn:
        rows = conn.execute(query).all()
    rank = {TITLE_LABELS[t]: i for i, t in enumerate(reversed(TITLES))}
    out: list[Awaiting] = []
    seen: set[int] = set()
    for r in rows:
        if r.id in seen:  # one open task per case, but never listed twice
            continue
        seen.add(r.id)
        data = r.data if isinstance(r.data, Mapping) else json.loads(r.data or "{}")
        title = str(data.get("target_title") or "")
        out.append(
            Awaiting(int(r.id), int(r.version), str(r.name or ""), str(r.school),
                     TITLE_LABELS.get(title, title), str(data.get("subject") or ""))
        )  # fmt: skip
    out.sort(key=lambda a: (rank.get(a.title, 9), a.school, a.applicant, a.case_id))
    return out


RESULT_COLUMNS: Final = (
    ("case_id", "申报编号"),
    ("applicant", "姓名"),
    ("school", "工作单位"),
    ("title", "申报职称"),
    ("subject", "评审学科"),
    ("yes", "同意"),
    ("no", "不同意"),
    ("abstain", "弃权"),
    ("drawn", "评委人数"),
    ("result", "评审结果"),
    ("note", "备注"),
)


def result_title(results: Results) -> str:
    return f"{results.committee.name}{results.year}年度中小学教师职称评审结果名单"


def result_dicts(results: Results) -> list[dict[str, Any]]:
    """The rows as the .xlsx writer and the JSON API take them (``RESULT_COLUMNS``)."""
    return [
        {
            "case_id": r.case_id,
            "applicant": r.applicant,
            "school": r.school,
            "title": r.title,
            "subject": r.subject,
            "yes": r.yes,
            "no": r.no,
            "abstain": r.abstain,
            "drawn": r.drawn,
            "result": r.result,
            "note": r.note,
        }
        for r in results.rows
    ]


def results_document(svc: Services, results: Results) -> Document:
    c = results.committee
    rows = [
        [str(i), r.applicant, r.school, r.title, r.subject, str(r.yes), str(r.no),
         str(r.abstain), r.result + (f"（{r.note}）" if r.note else "")]
        for i, r in enumerate(results.rows, start=1)
    ]  # fmt: skip
    summary = (
        f"本委员会{results.year}年度共评审{c.decided}人，通过{c.passed}人，"
        f"未通过{c.decided - c.passed}人。通过标准：出席评委达到抽取人数的三分之二，"
        "同意票不少于所投票数的三分之二。"
    )
    columns = [("序号", 1.1), ("姓名", 2.2), ("工作单位", 0), ("申报职称", 2.4), ("学科", 1.8),
               ("同意", 1.3), ("不同意", 1.7), ("弃权", 1.3), ("评审结果", 3.2)]  # fmt: skip
    blocks: list[Block] = [
        paragraph(summary),
        table(columns, rows) if rows else paragraph("本年度尚无评审结果。", indent=False),
        signatures("评审委员会主任委员（签名）：", "组织单位（盖章）　经办人（签名）："),
    ]
    today = local_date(svc.now()).isoformat()
    return Document(
        title=result_title(results),
        filename=f"职称评审结果名单-{c.name}-{results.year}",
        subtitle=f"评审委员会组织单位：{c.name}　打印于{today}",
        footer=result_title(results),
        blocks=blocks,
        landscape=True,
    )


__all__ = [
    "RESULT_COLUMNS",
    "Awaiting",
    "Committee",
    "ResultRow",
    "Results",
    "appointment_notice",
    "awaiting",
    "committees",
    "declaration",
    "result_dicts",
    "result_title",
    "results",
    "results_document",
]
