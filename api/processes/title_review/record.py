"""The teacher's record beside a title-review case: what the reviewer judges the declaration
against — the title held and since when, education, years of teaching, years in rural or
weak schools with the history of that number, backbone level, ethics.

Read straight from the roster (the case's reader is often not an officer who manages the
record: the teacher, a committee member) and cut by the one declaration,
``states.process.visibility.TEACHER_RECORD``, which title review's visibility includes: the
ethics record's dates and words and the history of the rural years are for the teacher and
the officers and inspectors over the case; everyone else who may open the case reads the
facts and whether any violation is on record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, bindparam, select

from api.processes import RecordPanel, Row
from states.clock import local_date
from states.engine.visibility import case_file, shown_record
from states.org import BACKBONE_LEVELS, EDUCATION_LABELS, TITLE_LABELS, Actor
from states.process.rules import full_years
from states.processes.title_review.machine import PROCESS
from states.processes.title_review.spec import SPEC
from states.registry import history, service
from states.store.models import EthicsRecord, OrgUnit, Teacher, table_of

teachers_t, units_t, ethics_t = table_of(Teacher), table_of(OrgUnit), table_of(EthicsRecord)

TITLE = "教师档案"
# The rows in the order a reviewer reads them, with their labels.
LABELS = {
    "school": "任教学校",
    "title": "现任职称",
    "title_date": "职称取得时间",
    "education": "最高学历",
    "teaching_years": "教龄",
    "rural_years": "农村或薄弱学校任教",
    "rural_ledger": "农村任教年限记录",
    "backbone_level": "骨干教师",
    "ethics": "师德记录",
}
# Built once: every reviewer's page view reads them.
_TEACHER = (
    select(
        teachers_t.c.title,
        teachers_t.c.title_date,
        teachers_t.c.education,
        teachers_t.c.started_teaching_on,
        teachers_t.c.rural_years,
        teachers_t.c.backbone_level,
        units_t.c.name.label("school_name"),
        units_t.c.is_rural,
        units_t.c.is_weak,
    )
    .join(units_t, units_t.c.id == teachers_t.c.school_id)
    .where(teachers_t.c.person_id == bindparam("person_id"))
)
_ETHICS = (
    select(ethics_t.c.occurred_on, ethics_t.c.description)
    .where(ethics_t.c.person_id == bindparam("person_id"))
    .order_by(ethics_t.c.occurred_on)
)


def _years(value: float) -> str:
    return f"{value:g}年"


def _ledger(conn: Connection, person_id: int) -> list[str]:
    """Each change of the imported rural-service years on the record's sealed history (when,
    from which source, from what to what), then each term the service ledger credited
    (support teaching, rotation) with its case, and its corrections."""
    out: list[str] = []
    for e in history.entries_of(conn, history.TEACHER, person_id):
        change = e.changes.get("rural_years")
        if change is None:
            continue
        before, after = change
        what = (
            f"登记为{_years(float(after or 0))}"
            if before is None
            else f"{_years(float(before))} → {_years(float(after or 0))}"
        )
        where = f"（事项 {e.case_id}）" if e.case_id is not None else ""
        out.append(f"{local_date(e.at).isoformat()} {e.source_label}：{what}{where}")
    for c in service.entries(conn, person_id):
        out.append(f"{local_date(c.recorded_at).isoformat()} 计入：{c.text()}")
    return out


def _rural(imported: float, credited: float) -> str:
    if not credited:
        return _years(imported)
    total = round(imported + credited, 2)
    return f"{total:g}年（档案登记{imported:g}年，支教及交流记录{credited:g}年）"


def _title_since(since: dt.date | None, title: str, as_of: dt.date) -> str:
    """When the title was conferred and the full years held at ``as_of``; a title conferred
    after it (this case's own appointment, or a later one) has no years to count there."""
    if since is None:
        return "未登记"
    if since > as_of:
        return f"{since.isoformat()}（{as_of.isoformat()}之后取得）"
    return f"{since.isoformat()}（任{title}满{full_years(since, as_of)}年）"


def _values(conn: Connection, person_id: int, as_of: dt.date) -> dict[str, Any] | None:
    """The record's rows keyed as the declaration names them, before any cutting."""
    t = conn.execute(_TEACHER, {"person_id": person_id}).one_or_none()
    if t is None:
        return None
    flags = [w for w, on in (("农村学校", t.is_rural), ("薄弱学校", t.is_weak)) if on]
    title = TITLE_LABELS.get(t.title, t.title)
    return {
        "school": t.school_name + (f"（{'、'.join(flags)}）" if flags else ""),
        "title": title,
        "title_date": _title_since(t.title_date, title, as_of),
        "education": EDUCATION_LABELS.get(t.education, t.education),
        "teaching_years": (
            f"{full_years(t.started_teaching_on, as_of)}年"
            f"（{t.started_teaching_on.isoformat()}起任教）"
        ),
        "rural_years": _rural(float(t.rural_years or 0), service.credited_years(conn, person_id)),
        "rural_ledger": _ledger(conn, person_id),
        "backbone_level": BACKBONE_LEVELS.get(t.backbone_level or "", "无"),
        "ethics": [
            {"on": e.occurred_on.isoformat(), "what": e.description}
            for e in conn.execute(_ETHICS, {"person_id": person_id})
        ],
    }


def _text(key: str, value: Any) -> str:
    if key == "ethics":
        if isinstance(value, int):  # the count the declaration leaves everyone else
            return (
                f"有{value}条师德违规记录（详情仅限本人及人事、督查部门查阅）"
                if value
                else "无师德违规记录"
            )
        if not value:
            return "无师德违规记录"
        return "\n".join(f"{e['on']} {e['what']}" for e in value)
    if key == "rural_ledger":
        return "\n".join(value) if value else "无变动记录"
    return str(value)


def case_record(conn: Connection, actor: Actor, row: Row) -> RecordPanel | None:
    """The record of the case's teacher as ``actor`` may read it; None for a case they may
    not open (the caller has answered 404 by then) or one about nobody."""
    case = case_file(conn, {PROCESS: SPEC}, actor, int(row["id"]))
    if case is None:
        return None
    person_id = case.row.get("subject_id") or case.row.get("applicant_id")
    if person_id is None:
        return None
    # Years are counted to the day the case was opened, as the declaration was judged.
    as_of = local_date(case.row["opened_at"])
    values = _values(conn, int(person_id), as_of)
    if values is None:
        return RecordPanel(TITLE, (), note="未找到该教师的档案")
    shown = shown_record(SPEC.visibility, values, case.viewer)
    rows = tuple((LABELS[k], _text(k, shown[k])) for k in LABELS if k in shown)
    return RecordPanel(TITLE, rows, note=f"摘自教师档案；教龄和任职年限计至{as_of.isoformat()}")
